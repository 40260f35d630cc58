/**
 * A set of texts kept as 64-bit fingerprints: to count an id given twice once (a test node whose
 * key a manifest repeats), without keeping the ids themselves. A Set of 120,000 test ids held
 * 11 MB and cost 6 % of reading a manifest (hashing a fresh string, then probing a large table);
 * this holds 8 bytes an id in one typed array.
 *
 * Two different ids share a fingerprint with a probability of about n²/2⁶⁵: 4·10⁻¹⁰ for the
 * 120,000 tests of a very large project, 3·10⁻⁸ at a million. The cost of such a collision is one
 * test counted once too few.
 * @module
 */

export class FingerprintSet {
  /** Open addressing: two 32-bit halves a slot, both 0 for an empty slot. */
  private slots = new Int32Array(2 << 12);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds the text; whether it was new. */
  add(text: string): boolean {
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
    if ((this.count + 1) * 2 > this.slots.length >>> 1) this.grow();
    return this.insert(a | 0, b | 0);
  }

  private insert(a: number, b: number): boolean {
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    for (let s = a & mask; ; s = (s + 1) & mask) {
      const x = slots[s * 2]!;
      const y = slots[s * 2 + 1]!;
      if (x === 0 && y === 0) {
        slots[s * 2] = a;
        slots[s * 2 + 1] = b;
        this.count++;
        return true;
      }
      if (x === a && y === b) return false;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.count = 0;
    for (let s = 0; s < old.length; s += 2) {
      const a = old[s]!;
      const b = old[s + 1]!;
      if (a !== 0 || b !== 0) this.insert(a, b);
    }
  }
}
