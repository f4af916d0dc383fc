/**
 * Writes pipeline.schema.json from the TypeBox source (src/pipeline/schema.ts).
 * `npm run schema -w @gbp/cli`; src/pipeline/schema.test.ts fails when the committed file is stale.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pipelineJsonSchemaText } from '../src/pipeline/schema.js';

const target = fileURLToPath(new URL('../pipeline.schema.json', import.meta.url));
writeFileSync(`${target}.tmp`, pipelineJsonSchemaText());
renameSync(`${target}.tmp`, target);
console.log(`wrote ${target}`);
