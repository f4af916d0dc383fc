/**
 * The model type of a config.json that does not say (many Hub BERTs converted in 2019-2020 have no
 * `model_type`): transformers' AutoConfig then takes the longest model type that the model's name
 * contains (its "pattern matching" fallback), e.g. "bert" for prajjwal1/bert-mini and "distilbert"
 * for distilbert-base-uncased. gbp runs BERT only, so only the types whose name contains "bert"
 * decide here: the name must say "bert" and none of the longer ones.
 */
import { dirname } from 'node:path';

/**
 * transformers' model types that contain "bert" (CONFIG_MAPPING_NAMES of transformers 4.x-5.x,
 * with qdqbert and retribert of earlier releases), longest first as the fallback tries them; ties
 * keep CONFIG_MAPPING's alphabetical order, as Python's stable sort does.
 */
const BERT_LIKE_TYPES = [
  'albert', 'bert', 'bert-generation', 'camembert', 'convbert', 'deberta', 'deberta-v2', 'distilbert', 'flaubert', 'hubert',
  'ibert', 'megatron-bert', 'mobilebert', 'modernbert', 'modernbert-decoder', 'qdqbert', 'rembert', 'retribert', 'roberta',
  'roberta-prelayernorm', 'roc_bert', 'squeezebert', 'visual_bert', 'wav2vec2-bert', 'xlm-roberta', 'xlm-roberta-xl',
].sort((a, b) => b.length - a.length);

/**
 * The name transformers would match for the config.json at `file`: the Hub id for a file in the
 * Hugging Face cache (`models--org--name/snapshots/<commit>/`, what a download gives), else the
 * folder's path (what `from_pretrained(folder)` is given).
 */
export function modelNameOf(file: string): string {
  const dir = dirname(file);
  const cached = /(?:^|[\\/])models--([^\\/]+)[\\/]snapshots[\\/][^\\/]+$/.exec(dir);
  return cached ? cached[1]!.split('--').join('/') : dir;
}

/** The "bert"-family model type `name` names by transformers' fallback (case-sensitive, as it is), or undefined. */
export function bertLikeTypeOf(name: string): string | undefined {
  return BERT_LIKE_TYPES.find((type) => name.includes(type));
}
