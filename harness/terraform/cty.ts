/**
 * Terraform's values on the wire (cty in MessagePack, as tfplugin6's DynamicValue carries them):
 * decoding a configuration, and encoding a planned state with unknown values. Types are cty's JSON
 * type notation: "string", ["list","string"], ["object",{...}].
 * @module
 */
import { ExtensionCodec, decode, encode } from '@msgpack/msgpack';

export type CtyType = string | [string, CtyType] | ['object', Record<string, CtyType>];

/** A value known only after apply. */
export const UNKNOWN: unique symbol = Symbol('unknown');
export type Value = null | string | number | boolean | typeof UNKNOWN | Value[] | { [key: string]: Value };

const codec = new ExtensionCodec();
// cty encodes an unknown value as extension 0; with refinements (Terraform >= 1.6) as extension 12.
for (const type of [0, 12]) {
  codec.register({
    type,
    encode: (input: unknown) => (type === 0 && input === UNKNOWN ? new Uint8Array([0]) : null),
    decode: () => UNKNOWN,
  });
}

export function decodeValue(bytes: Uint8Array | undefined): Value {
  if (!bytes || bytes.length === 0) return null;
  return decode(bytes, { extensionCodec: codec, useBigInt64: false }) as Value;
}

export function encodeValue(value: Value): Uint8Array {
  return encode(value, { extensionCodec: codec, ignoreUndefined: false });
}

/** Whether a value (or anything in it) is unknown. */
export function hasUnknown(value: Value): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(hasUnknown);
  if (value && typeof value === 'object') return Object.values(value).some(hasUnknown);
  return false;
}
