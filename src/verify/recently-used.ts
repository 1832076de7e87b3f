interface Slot<V> {
  value: V
  /** When it last went to the end of the order (a count of such moves). */
  movedAt: number
}

/**
 * At most `max` entries, the least recently used dropped first, nearly: a Map
 * keeps the order, and an entry read again goes to its end only once it is in
 * the older half. An entry used within the last max / 2 moves is never the
 * one dropped, and most reads move nothing (a Map delete and set on every
 * read cost more than the rest of a remembered lookup).
 */
export class RecentlyUsed<K, V> {
  readonly #max: number
  readonly #slots = new Map<K, Slot<V>>()
  #moves = 0

  constructor (max: number) {
    this.#max = max
  }

  /** The value, now counted as used. */
  get (key: K): V | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    if (this.#moves - slot.movedAt >= this.#max / 2) this.#moveToEnd(key, slot)
    return slot.value
  }

  /** The value, not counted as used: for a caller that may still refuse it. */
  peek (key: K): V | undefined {
    return this.#slots.get(key)?.value
  }

  /** Holds the value as the most recently used, dropping the least recently used beyond `max`. */
  set (key: K, value: V): void {
    this.#moveToEnd(key, { value, movedAt: 0 })
    if (this.#slots.size > this.#max) this.#slots.delete(this.#slots.keys().next().value as K)
  }

  delete (key: K): void {
    this.#slots.delete(key)
  }

  #moveToEnd (key: K, slot: Slot<V>) {
    this.#slots.delete(key)
    slot.movedAt = ++this.#moves
    this.#slots.set(key, slot)
  }
}
