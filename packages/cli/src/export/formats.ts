/** The formats `gbp export` and a pipeline's export stage write; the next ones (tfjs, onnx) are added here. */
import { exportHfFolder, HF_DTYPES, type HfDtype, type LoadedModel } from '@gbp/core';
import { exportOnnxFolder, ONNX_DTYPES } from './onnx/onnx-export.js';
import { EXPORT_DTYPES as TFJS_DTYPES, type ExportDtype as TfjsDtype } from '@gbp/runtime';
import { exportTfjsFolder } from './tfjs.js';

export interface ExportSummary {
  files: string[];
  notes: string[];
  params: number;
  extraParams: number;
}

/** An output format: the next ones (tfjs, onnx) are added here. */
export interface ExportFormat {
  /** What DIR becomes, for the help and the summary. */
  describe: string;
  /** Weight precisions it writes; the first is the default. */
  dtypes: readonly string[];
  write(dir: string, model: LoadedModel, options: { dtype: string; force: boolean }): Promise<ExportSummary>;
}

export const EXPORT_FORMATS: Readonly<Record<string, ExportFormat>> = {
  hf: {
    describe: 'a Hugging Face folder transformers loads as BertForSequenceClassification',
    dtypes: HF_DTYPES,
    write: (dir, model, { dtype, force }) => exportHfFolder(dir, model, { dtype: dtype as HfDtype, force }),
  },
  onnx: {
    describe: 'model.onnx (opset 17; inputs input_ids, attention_mask, token_type_ids; outputs logits, pooler_output) with config.json and the tokenizer',
    dtypes: ONNX_DTYPES,
    write: exportOnnxFolder,
  },
  tfjs: {
    describe: 'a TF.js weights manifest with config and tokenizer (model.json + shards) that @gbp/runtime loads in Node or a browser',
    dtypes: TFJS_DTYPES,
    write: (dir, model, { dtype, force }) => exportTfjsFolder(dir, model, { dtype: dtype as TfjsDtype, force }),
  },
};

export const EXPORT_FORMAT_NAMES = Object.keys(EXPORT_FORMATS);
