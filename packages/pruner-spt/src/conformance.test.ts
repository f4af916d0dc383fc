import { describePrunerConformance } from '@gbp/core/testing';
import spt from './index.js';

// The steps schedule; exploration is off at epoch ends, so each epoch's record shows the committed masks.
await describePrunerConformance(spt, { expectedSparsity: 'steps' });
