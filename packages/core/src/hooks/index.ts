export * from './types.js';
export * from './registry.js';
export * from './define.js';
export * from './resolve.js';
export { locateModule, searchRoots } from './loader.js';
export * from './plugin-path.js';
export * from './installed.js';
