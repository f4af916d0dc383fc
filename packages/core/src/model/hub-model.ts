/**
 * A model on the Hugging Face Hub (`org/name[@revision]`) as a local folder: the files a BERT
 * checkpoint needs, downloaded into the Hugging Face cache layout (HF_HUB_CACHE, else
 * HF_HOME/hub, else ~/.cache/huggingface/hub) so that other Hugging Face tools share them.
 * Honours HF_ENDPOINT, HF_TOKEN and offline mode (HF_HUB_OFFLINE or `offline`).
 */

export interface HubModelOptions {
  /** The hub cache folder; default from HF_HUB_CACHE / HF_HOME as huggingface_hub resolves it. */
  cacheDir?: string;
  /** Never touch the network: the revision must already be in the cache. Default: HF_HUB_OFFLINE. */
  offline?: boolean;
  /** Default HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Default HF_TOKEN. Never logged or written anywhere. */
  token?: string;
  log?: (message: string) => void;
  signal?: AbortSignal;
}

/** A Hub reference split into its id and revision (default 'main'). */
export interface HubRef {
  id: string;
  revision: string;
}

/** `org/name@revision` (or `name`) as a HubRef; undefined when `ref` cannot be a Hub id. */
export function parseHubRef(ref: string): HubRef | undefined {
  const match = /^([A-Za-z0-9][\w.-]*(?:\/[A-Za-z0-9][\w.-]*)?)(?:@([\w./-]+))?$/.exec(ref);
  if (!match || match[1]!.includes('..')) return undefined;
  return { id: match[1]!, revision: match[2] ?? 'main' };
}

/**
 * The local snapshot folder of `ref` with config.json, the weights (model.safetensors, else
 * pytorch_model.bin) and the tokenizer files the repository has (vocab.txt, tokenizer.json,
 * tokenizer_config.json). Errors name the id, the revision and what is missing.
 */
export async function downloadHubModel(ref: HubRef, options: HubModelOptions = {}): Promise<string> {
  void options;
  throw new Error(`${ref.id}@${ref.revision}: downloading from the Hugging Face Hub is not implemented yet`);
}
