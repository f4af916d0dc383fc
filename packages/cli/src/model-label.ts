/** How a job's model is named in tables and the dashboard: its size preset, or what model.from names. */
import { basename } from 'node:path';
import type { ModelSpec } from '@gbp/core';

/** 'tiny', or for model.from the Hub id (org/name[@rev]) or the folder's name. */
export function modelLabel(model: ModelSpec): string {
  if (model.from === undefined) return model.size ?? '?';
  const from = model.from;
  return from.startsWith('/') || from.startsWith('.') ? basename(from.replace(/[/\\]model\/?$/, '')) : from;
}
