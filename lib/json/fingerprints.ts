/**
 * A set of texts kept as 63-bit fingerprints, each with a flag: to count an id given twice once (a
 * test node whose key a manifest repeats; a model, documented or not as its later form says),
 * without keeping the ids themselves. A Set of 120,000 test ids cost 6 % of reading a manifest
 * (hashing a fresh string, then probing a large table), and a Map of a million model ids about
 * 100 MB; this holds about 11 bytes an id in one typed array.
 *
 * Two different ids share a 63-bit fingerprint with a probability of about n²/2⁶⁴: 8·10⁻¹⁰ for the
 * 120,000 tests of a very large project, 5·10⁻⁸ at a million. The cost of such a collision is one
 * test counted once too few.
 * @module
 */

export class FingerprintSet {
  /**
   * Open addressing, linear probing: two 32-bit halves a slot, both 0 for an empty slot; the low bit
   * of the second is the text's flag (so a fingerprint has 63 bits). Filled to three quarters, then
   * grown by half: a million ids fit in 1.4 million slots, 11 MB, where a power-of-two table kept at
   * most half full needed 2 million slots and a flag array, 18 MB (27 MB while it grew).
   */
  private slots = new Int32Array(2 * 4096);
  private capacity = 4096;
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
    const at = this.slotOf(text) * 2 + 1;
    const old = this.slots[at]!;
    const value = flag ? 1 : 0;
    this.flagCount += value - (old & 1);
    this.slots[at] = (old & ~1) | value;
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
    // The low bit of b holds the flag; never both 0, which marks an empty slot.
    b &= ~1;
    if (a === 0 && b === 0) b = 2;
    if ((this.count + 1) * 4 > this.capacity * 3) this.grow();
    return this.insert(a | 0, b | 0);
  }

  /** The slot of fingerprint (a, b) (b's low bit clear), made if it was new; its flag is kept. */
  private insert(a: number, b: number): number {
    const slots = this.slots;
    const capacity = this.capacity;
    // The first slot: a, as a fraction of 2^32, times the capacity.
    for (let s = Math.floor(((a >>> 0) * capacity) / 4294967296); ; s = s + 1 === capacity ? 0 : s + 1) {
      const x = slots[s * 2]!;
      const y = slots[s * 2 + 1]!;
      if (x === 0 && y === 0) {
        slots[s * 2] = a;
        slots[s * 2 + 1] = b;
        this.count++;
        return s;
      }
      if (x === a && (y & ~1) === b) return s;
    }
  }

  private grow(): void {
    const slots = this.slots;
    const capacity = this.capacity;
    this.capacity = Math.ceil(capacity * 1.5);
    this.slots = new Int32Array(this.capacity * 2);
    this.count = 0;
    for (let s = 0; s < capacity; s++) {
      const a = slots[s * 2]!;
      const y = slots[s * 2 + 1]!;
      if (a !== 0 || y !== 0) this.slots[this.insert(a, y & ~1) * 2 + 1] = y;
    }
  }
}
