import { describePrunerConformance } from '@gbp/core/testing';
import magnitude from './index.js';

// Prunes at the end of every epoch of the window to the linear schedule's target.
await describePrunerConformance(magnitude, { options: { schedule: 'linear' }, expectedSparsity: 'linear' });
