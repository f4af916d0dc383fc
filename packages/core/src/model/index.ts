// Public API of the model module (owned by its module).
export {};
