/** What the store throws: a refusal names what was wrong, and nothing was written. */
export class StoreError extends Error {}
/** The row a call names does not exist. */
export class NotFound extends StoreError {}
/** A value is not one the v1 contract allows. */
export class InvalidInput extends StoreError {}
