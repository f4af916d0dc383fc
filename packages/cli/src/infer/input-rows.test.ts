import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { parseInferLine, readInferRows, rowLabel, rowTexts } from './input-rows.js';
import { outputRow, predictedLabel } from './output-row.js';

const classes = { numLabels: 3 };

describe('rowTexts', () => {
  it.each([
    [{ text: 'a' }, ['a']],
    [{ text: 'a', text_pair: 'b' }, ['a', 'b']],
    [{ sentence: 'a', label: 1 }, ['a']],
    [{ sentence1: 'a', sentence2: 'b' }, ['a', 'b']],
    [{ question: 'q', sentence: 's' }, ['q', 's']],
    [{ premise: 'p', hypothesis: 'h' }, ['p', 'h']],
    [{ question1: 'a', question2: 'b' }, ['a', 'b']],
  ])('reads the segments of %j', (fields, texts) => {
    expect(rowTexts(fields, 'f:1')).toEqual(texts);
  });

  it('names the line, the field and what it expected', () => {
    expect(() => rowTexts({ sentence: 5 }, 'in.jsonl:4')).toThrow(`in.jsonl:4: field 'sentence': expected a string, got 5`);
    expect(() => rowTexts({ premise: 'p' }, 'in.jsonl:2')).toThrow(`in.jsonl:2: field 'hypothesis': expected a string (the second segment after 'premise'), got nothing (field missing)`);
    expect(() => rowTexts({ words: 'x' }, 'in.jsonl:9')).toThrow(
      'in.jsonl:9: no text field; expected text (with optional text_pair), sentence1+sentence2, question+sentence, premise+hypothesis, question1+question2 or sentence',
    );
  });
});

describe('rowLabel', () => {
  it('takes class ids below the label count, scores for one output, and -1 or none as unlabelled', () => {
    expect(rowLabel({ label: 2 }, 'f:1', classes)).toBe(2);
    expect(rowLabel({ label: -1 }, 'f:1', classes)).toBeUndefined();
    expect(rowLabel({}, 'f:1', classes)).toBeUndefined();
    expect(rowLabel({ label: 3.25 }, 'f:1', { numLabels: 1 })).toBe(3.25);
  });

  it('refuses a label the model cannot predict, naming the line', () => {
    expect(() => rowLabel({ label: 3 }, 'f:7', classes)).toThrow(`f:7: field 'label': expected a class id, an integer in 0..2 (or -1 for none), got 3`);
    expect(() => rowLabel({ label: 'positive' }, 'f:7', classes)).toThrow(`f:7: field 'label': expected a class id, an integer in 0..2 (or -1 for none), got "positive"`);
    expect(() => rowLabel({ label: '1.5' }, 'f:8', { numLabels: 1 })).toThrow(`f:8: field 'label': expected a finite number (the model predicts a score), got "1.5"`);
  });
});

describe('parseInferLine and readInferRows', () => {
  it('refuses a line that is not a JSON object', () => {
    expect(() => parseInferLine('{"text": ', 'in.jsonl:3', 3, classes)).toThrow(/^in\.jsonl:3: not valid JSON \(/);
    expect(() => parseInferLine('["a"]', 'in.jsonl:3', 3, classes)).toThrow('in.jsonl:3: expected a JSON object with a text field, got an array');
  });

  it('keeps the good rows with their line numbers, reports the bad ones and skips blank lines', async () => {
    const text = ['{"sentence": "one", "label": 1}', '', 'nope', '{"sentence": "two"}', '{"sentence": null}'].join('\n');
    const { rows, bad } = await readInferRows(createInterface({ input: Readable.from([text]) }), 'in.jsonl', classes);
    expect(rows.map((r) => [r.line, r.texts, r.label])).toEqual([
      [1, ['one'], 1],
      [4, ['two'], undefined],
    ]);
    expect(bad.map((b) => b.line)).toEqual([3, 5]);
    expect(bad[1]!.message).toBe(`in.jsonl:5: field 'sentence': expected a string, got null`);
  });
});

describe('outputRow', () => {
  it('adds logits and the argmax label, keeping the gold label as input_label', () => {
    const row = { line: 1, fields: { idx: 4, sentence: 's', label: 0 }, texts: ['s'], label: 0 };
    expect(outputRow(row, { logits: [0.1, 0.7, 0.2], pooled: [1, 2] })).toEqual({ idx: 4, sentence: 's', input_label: 0, logits: [0.1, 0.7, 0.2], label: 1, pooler_output: [1, 2] });
  });

  it('gives the score itself as the label of a one-output model', () => {
    expect(predictedLabel([3.5])).toBe(3.5);
    expect(predictedLabel([-1, -3, -0.5])).toBe(2);
  });
});
