// Public API of the backend module (owned by its module).
export {};
