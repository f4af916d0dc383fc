/** Finding and describing bytes that are not UTF-8, for the text readers' errors. */

const isContinuation = (byte: number) => (byte & 0xc0) === 0x80;

function isCompleteUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** 1-based byte of `bytes` where the first invalid UTF-8 sequence starts (only called once decoding has failed). */
export function firstInvalidByte(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      // the decoder fails at the byte that breaks a sequence: report where that sequence began
      let start = i;
      while (start > 0 && i - start < 3 && isContinuation(bytes[start - 1]!)) start--;
      if (start > 0 && bytes[start - 1]! >= 0xc0) start--;
      if (start < i && !isCompleteUtf8(bytes.subarray(start, i))) return start + 1;
      return i + 1;
    }
  }
  // a sequence cut off by the end
  let start = bytes.length - 1;
  while (start > 0 && isContinuation(bytes[start]!)) start--;
  return start + 1;
}

/** "not valid UTF-8 (byte 17 of the <what> is 0xe9); gbp reads ... convert the file ..." */
export function notUtf8Message(bytes: Uint8Array, what: string): string {
  const at = firstInvalidByte(bytes);
  return (
    `not valid UTF-8 (byte ${at} of the ${what} is 0x${bytes[at - 1]!.toString(16).padStart(2, '0')}); ` +
    'gbp reads data files as UTF-8: convert the file, e.g. iconv -f latin1 -t utf-8'
  );
}
