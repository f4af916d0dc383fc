import type { PrunerDefinition } from './types.js';

/** Identity at run time; gives a pruner package its types. Default-export the result. */
export function definePruner<Options = Record<string, unknown>>(definition: PrunerDefinition<Options>): PrunerDefinition<Options> {
  return definition;
}
