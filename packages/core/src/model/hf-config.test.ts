/** A BERT config.json as a gbp ModelConfig; what gbp cannot run is refused by name, with the file. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelInfo } from './config.js';
import { parseHfConfig, readHfConfig } from './hf-config.js';

const FILE = '/models/x/config.json';

/** bert-ref-micro's config.json (the shape of a Hub BERT config). */
const base = {
  architectures: ['BertForSequenceClassification'],
  model_type: 'bert',
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 128,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 64,
  type_vocab_size: 2,
  vocab_size: 1036,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  id2label: { 0: 'LABEL_0', 1: 'LABEL_1' },
};

describe('parseHfConfig', () => {
  it('maps the BertConfig fields onto gbp names', () => {
    const { config, checkpointLabels } = parseHfConfig({ ...base, layer_norm_eps: 1e-6 }, FILE);
    expect(config).toEqual({
      size: 'imported',
      num_layers: 2,
      d_model: 64,
      num_heads: 4,
      dff: 128,
      vocab_size: 1036,
      max_len: 64,
      dropout_rate: 0.1,
      type_vocab_size: 2,
      num_labels: 2,
      layer_norm_eps: 1e-6,
    });
    expect(checkpointLabels).toBe(2);
    expect(modelInfo(config).num_params).toBe(141_890);
  });

  it('takes the task’s label count over the checkpoint’s, and the checkpoint’s over the default', () => {
    expect(parseHfConfig(base, FILE, { numLabels: 3 }).config.num_labels).toBe(3);
    expect(parseHfConfig({ ...base, num_labels: 5 }, FILE).config.num_labels).toBe(5);
    const { id2label: _, ...unlabelled } = base;
    expect(parseHfConfig(unlabelled, FILE).config.num_labels).toBe(2);
    expect(parseHfConfig(unlabelled, FILE).checkpointLabels).toBeUndefined();
  });

  it('reads pruned_heads as the heads kept per layer (repeated heads counted once)', () => {
    const { config } = parseHfConfig({ ...base, pruned_heads: { 1: [0, 2, 2] } }, FILE);
    expect(config.heads_per_layer).toEqual([4, 2]);
    expect(parseHfConfig({ ...base, pruned_heads: {} }, FILE).config.heads_per_layer).toBeUndefined();
  });

  it('accepts a config without position_embedding_type or layer_norm_eps (BertConfig’s defaults)', () => {
    const { position_embedding_type: _p, layer_norm_eps: _e, ...minimal } = base;
    expect(parseHfConfig(minimal, FILE).config.layer_norm_eps).toBe(1e-12);
  });

  describe('without model_type (Hub BERTs converted in 2019-2020)', () => {
    const { model_type: _, ...untyped } = base;
    const COMMIT = '0123456789abcdef0123456789abcdef01234567';
    const cached = (id: string, cache = '/home/u/.cache/huggingface/hub') => `${cache}/models--${id.replace('/', '--')}/snapshots/${COMMIT}/config.json`;

    it.each([
      [cached('prajjwal1/bert-mini'), 'prajjwal1/bert-mini'],
      [cached('google/bert_uncased_L-2_H-128_A-2'), 'google/bert_uncased_L-2_H-128_A-2'],
      ['/models/bert-small/config.json', '/models/bert-small'],
    ])('takes %s as BERT from the model name %j, as transformers does, and logs it', (file, name) => {
      const said: string[] = [];
      const parsed = parseHfConfig(untyped, file, { log: (m) => said.push(m) });
      expect(parsed).toEqual(parseHfConfig(base, file));
      expect(said).toEqual([`${file}: no model_type; taken as "bert" from the model's name "${name}", as transformers' AutoConfig does`]);
    });

    const needs = 'gbp imports BERT checkpoints only: if this is one, add "model_type": "bert" to the config';
    it.each([
      [cached('distilbert/distilbert-base-uncased'), 'distilbert/distilbert-base-uncased', 'distilbert'],
      [cached('FacebookAI/roberta-base'), 'FacebookAI/roberta-base', 'roberta'],
      [cached('FacebookAI/xlm-roberta-base'), 'FacebookAI/xlm-roberta-base', 'xlm-roberta'],
      [cached('albert/albert-base-v2'), 'albert/albert-base-v2', 'albert'],
      [cached('google/mobilebert-uncased'), 'google/mobilebert-uncased', 'mobilebert'],
      [cached('microsoft/deberta-v3-small'), 'microsoft/deberta-v3-small', 'deberta'],
      ['/models/nvidia/megatron-bert-cased-345m/config.json', '/models/nvidia/megatron-bert-cased-345m', 'megatron-bert'],
      ['/models/bert-generation-base/config.json', '/models/bert-generation-base', 'bert-generation'],
    ])('refuses %s, whose name says another type (the longest match, as transformers takes it)', (file, name, type) => {
      expect(() => parseHfConfig(untyped, file)).toThrow(
        `${file}: model_type is missing, and the model's name "${name}" says "${type}" (transformers then takes the type from the name), not "bert"; ${needs}`,
      );
    });

    it('refuses a name without "bert" (the Hub id, not the cache folder, for a download) and a config without BERT\'s fields, saying what gbp needs', () => {
      const file = cached('org/tiny-encoder', '/home/bert/.cache/huggingface/hub');
      expect(() => parseHfConfig(untyped, file)).toThrow(
        `${file}: model_type is missing, and the model's name "org/tiny-encoder" does not contain "bert" (transformers then takes the type from the name, as gbp does); ${needs}`,
      );
      // transformers matches case-sensitively: "BERT" is not "bert".
      expect(() => parseHfConfig(untyped, '/models/TinyBERT/config.json')).toThrow(`model's name "/models/TinyBERT" does not contain "bert"`);
      const { hidden_act: _a, type_vocab_size: _t, ...partial } = untyped;
      expect(() => parseHfConfig(partial, cached('x/bert-tiny'))).toThrow(
        `${cached('x/bert-tiny')}: model_type is missing, and though the model's name "x/bert-tiny" says "bert", the config lacks BERT's hidden_act, type_vocab_size; ${needs}`,
      );
    });
  });

  it.each([
    [{ model_type: 'roberta' }, `${FILE}: model_type "roberta" is not supported (gbp imports model_type "bert" only)`],
    [{ hidden_act: 'gelu_new' }, `${FILE}: hidden_act "gelu_new" is not supported (gbp's encoder uses "gelu", the erf GELU)`],
    [{ hidden_act: 'relu' }, `${FILE}: hidden_act "relu" is not supported`],
    [{ position_embedding_type: 'relative_key' }, `${FILE}: position_embedding_type "relative_key" is not supported (gbp's encoder uses "absolute" positions)`],
    [{ max_position_embeddings: 1024 }, `${FILE}: max_position_embeddings must be an integer from 1 to 512, got 1024`],
    [{ hidden_size: undefined }, `${FILE}: hidden_size must be an integer from 1 to ..., got undefined`],
    [{ num_attention_heads: 5 }, `${FILE}: hidden_size (64) must be divisible by num_attention_heads (5)`],
    [{ is_decoder: true }, `${FILE}: is_decoder: true is not supported`],
    [{ layer_norm_eps: 0 }, `${FILE}: layer_norm_eps must be a positive number, got 0`],
    [{ pruned_heads: { 2: [0] } }, `${FILE}: pruned_heads: layer "2" is not a layer from 0 to 1`],
    [{ pruned_heads: { 0: [4] } }, `${FILE}: pruned_heads["0"] must list heads from 0 to 3, got [4]`],
  ])('refuses %j by name, with the file', (change, message) => {
    expect(() => parseHfConfig({ ...base, ...change }, FILE)).toThrow(message);
  });
});

describe('readHfConfig', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('names the file when it is missing or not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gbp-hf-config-'));
    dirs.push(dir);
    const file = join(dir, 'config.json');
    await expect(readHfConfig(file)).rejects.toThrow(`${file}: cannot read the model's config.json`);
    await writeFile(file, '{"model_type": "bert",');
    await expect(readHfConfig(file)).rejects.toThrow(`${file}: not valid JSON`);
    await writeFile(file, JSON.stringify(base));
    expect((await readHfConfig(file)).config.d_model).toBe(64);
  });
});
