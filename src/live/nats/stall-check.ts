/**
 * Decides, from readings taken once a period, whether a stream consumer stalled: the stream held
 * messages a whole period ago that the consumer has still not delivered. One period with the
 * cursor standing still and the stream ahead is not enough: a message stored just before a
 * reading has simply not arrived yet.
 */
export interface StallCheck {
  /** The cursor at this period's reading; true when it stood still since the last one (read the head then). */
  still(cursor: number): boolean;
  /** The stream's head, read after {@link StallCheck.still} said true; true when the consumer stalled. */
  stalled(cursor: number, head: number): boolean;
}

/** A fresh {@link StallCheck} for a consumer that starts after `start`. */
export function createStallCheck(start: number): StallCheck {
  let seen = start;
  /** The head at the last reading, when the cursor stood still below it (0: none). */
  let behind = 0;
  return {
    still(cursor) {
      if (cursor === seen) return true;
      seen = cursor;
      behind = 0;
      return false;
    },
    stalled(cursor, head) {
      if (behind > cursor) {
        behind = 0;
        return true;
      }
      behind = head > cursor ? head : 0;
      return false;
    },
  };
}
