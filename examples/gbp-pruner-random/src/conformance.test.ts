import { describePrunerConformance } from '@gbp/core/testing';
import random from './index.js';

await describePrunerConformance(random, { expectedSparsity: 'linear' });
await describePrunerConformance(random, { options: { scope: 'per_layer' }, expectedSparsity: 'linear', skip: { 'job-resume': 'covered by the global run' } });
