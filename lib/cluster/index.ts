/** The cluster lifecycle API (see ops.ts for the convergence operations). */
export * from './ops.js';
export * from './state.js';
export * from './owners.js';
export * from './paths.js';
export * from './identity.js';
export * from './vm.js';
export * from './stage.js';
export * from './ports.js';
