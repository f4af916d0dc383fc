import { describePrunerConformance } from '@gbp/core/testing';
import movement from './index.js';

// Hard top-k: masks recomputed every few steps and at each epoch end of the window, on the cubic schedule.
await describePrunerConformance(movement, { options: { schedule: 'cubic' }, expectedSparsity: 'cubic' });
