/**
 * A set of texts kept as 64-bit fingerprints, each with a flag: to count an id given twice once (a
 * test node whose key a manifest repeats; a model, documented or not as its later form says),
 * without keeping the ids themselves. A Set of 120,000 test ids cost 6 % of reading a manifest
 * (hashing a fresh string, then probing a large table), and a Map of a million model ids about
 * 100 MB; this holds 9 bytes an id in typed arrays.
 *
 * Two different ids share a fingerprint with a probability of about n²/2⁶⁵: 4·10⁻¹⁰ for the
 * 120,000 tests of a very large project, 3·10⁻⁸ at a million. The cost of such a collision is one
 * test counted once too few.
 * @module
 */

export class FingerprintSet {
  /** Open addressing: two 32-bit halves a slot, both 0 for an empty slot. */
  private slots = new Int32Array(2 << 12);
  /** A flag a slot (FingerprintSet.set). */
  private flags = new Uint8Array(1 << 12);
  private count = 0;
  private flagCount = 0;

  get size(): number {
    return this.count;
  }

  /** How many texts have their flag set. */
  get flagged(): number {
    return this.flagCount;
  }

  /** Adds the text; whether it was new. */
  add(text: string): boolean {
    const before = this.count;
    this.slotOf(text);
    return this.count > before;
  }

  /** Adds the text if new, and sets its flag (a later call for the same text replacing it). */
  set(text: string, flag: boolean): void {
    const slot = this.slotOf(text);
    const value = flag ? 1 : 0;
    this.flagCount += value - this.flags[slot]!;
    this.flags[slot] = value;
  }

  /** The text's slot, made if it was new. */
  private slotOf(text: string): number {
    // FNV-1a and a multiplicative hash with another seed, over the UTF-16 units, in one pass.
    let a = 0x811c9dc5;
    let b = 0x9e3779b9 ^ text.length;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    a ^= a >>> 16;
    a = Math.imul(a, 0x85ebca6b);
    a ^= a >>> 13;
    // Never both 0, which marks an empty slot.
    if (a === 0 && b === 0) b = 1;
    if ((this.count + 1) * 2 > this.flags.length) this.grow();
    return this.insert(a | 0, b | 0, 0);
  }

  private insert(a: number, b: number, flag: number): number {
    const slots = this.slots;
    const mask = this.flags.length - 1;
    for (let s = a & mask; ; s = (s + 1) & mask) {
      const x = slots[s * 2]!;
      const y = slots[s * 2 + 1]!;
      if (x === 0 && y === 0) {
        slots[s * 2] = a;
        slots[s * 2 + 1] = b;
        this.flags[s] = flag;
        this.count++;
        return s;
      }
      if (x === a && y === b) return s;
    }
  }

  private grow(): void {
    const slots = this.slots;
    const flags = this.flags;
    this.slots = new Int32Array(slots.length * 2);
    this.flags = new Uint8Array(flags.length * 2);
    this.count = 0;
    for (let s = 0; s < flags.length; s++) {
      const a = slots[s * 2]!;
      const b = slots[s * 2 + 1]!;
      if (a !== 0 || b !== 0) this.insert(a, b, flags[s]!);
    }
  }
}
