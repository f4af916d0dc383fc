// Public API of the pruning module (owned by its module).
export {};
