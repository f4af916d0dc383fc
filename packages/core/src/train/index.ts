// Public API of the train module (owned by its module).
export {};
