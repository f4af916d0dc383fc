/**
 * A pickle reader that runs no code: the opcodes of protocols 2-5 that a plain data structure uses
 * (dicts, lists, tuples, strings, numbers, memo), with every operation that could run code in
 * Python (resolving a global, calling it, building an object's state, persistent ids) handed to a
 * `PickleHost` that allows what it knows and refuses the rest. Opcodes outside this set are refused.
 *
 * Written here rather than taken from npm: the pickle readers there (pickleparser, jpickle) aim at
 * general Python objects; a checkpoint from the internet needs the opposite, a reader that refuses
 * everything but tensor storages, which is easiest to audit when it is this small. Modelled on
 * torch's own `_weights_only_unpickler.py` (what `torch.load(weights_only=True)` runs).
 */

/** What the host decides for the operations that run code in Python. Each may throw to refuse. */
export interface PickleHost {
  /** The value of global `module.name` (GLOBAL, STACK_GLOBAL); throws for one that is not allowed. */
  global(module: string, name: string): unknown;
  /** `callable(*args)` (REDUCE) or `callable.__new__(callable, *args)` (NEWOBJ). */
  call(callable: unknown, args: readonly unknown[], opcode: 'REDUCE' | 'NEWOBJ'): unknown;
  /** `obj.__setstate__(state)` (BUILD). */
  build(obj: unknown, state: unknown): void;
  /** The object a persistent id (BINPERSID) stands for. */
  persistentLoad(pid: unknown): unknown;
}

/** Python's dict (and OrderedDict, once the host builds one): insertion-ordered. */
export type PyDict = Map<unknown, unknown>;

const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4d: 'BININT2',
  0x4e: 'NONE', 0x51: 'BINPERSID', 0x52: 'REDUCE', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x58: 'BINUNICODE',
  0x5d: 'EMPTY_LIST', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS',
  0x68: 'BINGET', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE',
  0x8a: 'LONG1', 0x8b: 'LONG4', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE', 0x95: 'FRAME',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A little-endian two's-complement integer of `bytes` (LONG1/LONG4), as a number when it is safe. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** The object `bytes` pickles; `where` names the pickle in errors (e.g. "model.bin: archive/data.pkl"). */
export function unpickle(bytes: Uint8Array, host: PickleHost, where: string): unknown {
  return unpickleAt(bytes, 0, host, where).value;
}

/**
 * The object of the pickle starting at byte `start` of `bytes`, and the byte after its STOP: for a
 * stream of pickles one after another (torch.save's legacy format). Byte positions in errors count
 * from the start of `bytes`.
 */
export function unpickleAt(bytes: Uint8Array, start: number, host: PickleHost, where: string): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = start;
  let opAt = 0;
  let opName = '';
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what} (pickle opcode ${opName} at byte ${opAt})`);
  };
  const need = (n: number) => {
    if (at + n > bytes.length) fail(`ends after ${bytes.length} bytes, in the middle of an opcode: the pickle is truncated`);
    const start = at;
    at += n;
    return start;
  };
  const u8 = () => bytes[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const n = view.getBigUint64(need(8), true);
    if (n > BigInt(bytes.length)) fail(`a length of ${n} bytes, longer than the pickle`);
    return Number(n);
  };
  const raw = (n: number) => bytes.subarray(need(n), at);
  const text = (n: number) => {
    const b = raw(n);
    try {
      return utf8.decode(b);
    } catch {
      return fail('a string that is not UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail('a GLOBAL without its newline: the pickle is truncated');
    return text(end - at + 1).slice(0, -1);
  };

  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const pop = () => (stack.length > 0 ? stack.pop() : fail('pops an empty stack'));
  const top = () => (stack.length > 0 ? stack[stack.length - 1] : fail('reads an empty stack'));
  const popMark = () => {
    const items = stack;
    stack = marks.pop() ?? fail('a MARK is missing');
    return items;
  };
  const get = (i: number) => (memo.has(i) ? memo.get(i) : fail(`memo ${i} is not set`));
  const dictOnTop = (): PyDict => {
    const d = top();
    return d instanceof Map ? d : fail('sets an item on something that is not a dict');
  };
  const listOnTop = (): unknown[] => {
    const l = top();
    return Array.isArray(l) && !Object.isFrozen(l) ? l : fail('appends to something that is not a list');
  };
  /** Tuples are frozen arrays, lists plain ones. */
  const tuple = (items: unknown[]) => Object.freeze(items);
  const setItems = (d: PyDict, items: unknown[]) => {
    if (items.length % 2 !== 0) fail('an odd number of keys and values');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
  };

  for (;;) {
    opAt = at;
    if (at >= bytes.length) {
      opName = 'end of data';
      fail('ends without STOP: the pickle is truncated');
    }
    const op = bytes[at++]!;
    opName = OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
    switch (op) {
      case 0x80: {
        const protocol = u8();
        if (protocol > 5) fail(`pickle protocol ${protocol}; gbp reads protocols 2 to 5`);
        break;
      }
      case 0x95: // FRAME: a length prefix for buffering, nothing to do
        u64();
        break;
      case 0x2e:
        return { value: pop(), end: at };
      case 0x28:
        marks.push(stack);
        stack = [];
        break;
      case 0x30:
        pop();
        break;
      case 0x31:
        popMark();
        break;
      case 0x32:
        stack.push(top());
        break;
      case 0x4e:
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4a:
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b:
        stack.push(u8());
        break;
      case 0x4d:
        stack.push(u16());
        break;
      case 0x8a:
        stack.push(decodeLong(raw(u8())));
        break;
      case 0x8b:
        stack.push(decodeLong(raw(u32())));
        break;
      case 0x47:
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58:
        stack.push(text(u32()));
        break;
      case 0x8c:
        stack.push(text(u8()));
        break;
      case 0x8d:
        stack.push(text(u64()));
        break;
      // Python 2 str (SHORT_BINSTRING, BINSTRING) read as text, as torch.load does by default (encoding ASCII/UTF-8).
      case 0x55:
        stack.push(text(u8()));
        break;
      case 0x54:
        stack.push(text(u32()));
        break;
      case 0x43:
        stack.push(raw(u8()).slice());
        break;
      case 0x42:
        stack.push(raw(u32()).slice());
        break;
      case 0x8e:
        stack.push(raw(u64()).slice());
        break;
      case 0x29:
        stack.push(tuple([]));
        break;
      case 0x74: {
        // popMark() replaces `stack`: take the items before pushing onto the outer stack.
        const items = popMark();
        stack.push(tuple(items));
        break;
      }
      case 0x85:
        stack.push(tuple([pop()]));
        break;
      case 0x86: {
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x5d:
        stack.push([]);
        break;
      case 0x6c: {
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x61: {
        const item = pop();
        listOnTop().push(item);
        break;
      }
      case 0x65: {
        const items = popMark();
        listOnTop().push(...items);
        break;
      }
      case 0x7d:
        stack.push(new Map());
        break;
      case 0x64: {
        const d: PyDict = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        const value = pop();
        const key = pop();
        dictOnTop().set(key, value);
        break;
      }
      case 0x75: {
        const items = popMark();
        setItems(dictOnTop(), items);
        break;
      }
      case 0x68:
        stack.push(get(u8()));
        break;
      case 0x6a:
        stack.push(get(u32()));
        break;
      case 0x71:
        memo.set(u8(), top());
        break;
      case 0x72:
        memo.set(u32(), top());
        break;
      case 0x94:
        memo.set(memo.size, top());
        break;
      case 0x63: {
        const module = line();
        const name = line();
        stack.push(host.global(module, name));
        break;
      }
      case 0x93: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('a global whose module and name are not strings');
        stack.push(host.global(module as string, name as string));
        break;
      }
      case 0x52: {
        const args = pop();
        if (!Array.isArray(args)) fail('calls with arguments that are not a tuple');
        const callable = pop();
        stack.push(host.call(callable, args as unknown[], 'REDUCE'));
        break;
      }
      case 0x81: {
        const args = pop();
        if (!Array.isArray(args)) fail('creates an object with arguments that are not a tuple');
        const cls = pop();
        stack.push(host.call(cls, args as unknown[], 'NEWOBJ'));
        break;
      }
      case 0x62: {
        const state = pop();
        host.build(top(), state);
        break;
      }
      case 0x51:
        stack.push(host.persistentLoad(pop()));
        break;
      default:
        fail("an opcode gbp does not read: a torch.save state dict uses only protocol 2-5 data opcodes");
    }
  }
}
