/**
 * vega-lite spec -> vega -> SVG (headless view) -> PNG with resvg. The font is DejaVu Sans shipped
 * in assets/fonts, so text renders the same on machines without system fonts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export const FONT_FAMILY = 'DejaVu Sans';
export const FONT_FILE = fileURLToPath(new URL('../../assets/fonts/DejaVuSans.ttf', import.meta.url));

/** Shared look: the shipped font everywhere, white background. */
export const BASE_CONFIG = {
  font: FONT_FAMILY,
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 12, titleFontSize: 13 },
  legend: { labelFontSize: 12, titleFontSize: 13, labelLimit: 260 },
  title: { fontSize: 15 },
} as const;

export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const { spec: vegaSpec } = compile(spec);
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string): Buffer {
  if (!existsSync(FONT_FILE)) throw new Error(`font file missing: ${FONT_FILE} (text in plots needs it)`);
  const resvg = new Resvg(svg, {
    background: 'white',
    font: { fontFiles: [FONT_FILE], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  });
  return resvg.render().asPng();
}

export async function renderPng(spec: TopLevelSpec): Promise<Buffer> {
  return svgToPng(await toSvg(spec));
}
