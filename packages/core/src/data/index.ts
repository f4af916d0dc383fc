// Public API of the data module (owned by its module).
export {};
