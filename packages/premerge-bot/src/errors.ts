/** Every error premerge-bot throws on purpose carries a stable `code`; callers branch on it. */
export class PremergeError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PremergeError';
    this.code = code;
  }
}
