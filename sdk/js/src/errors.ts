// Errors the SDK throws. None of them ever carries a secret value: messages name secrets, never quote them.

/** An answer from the Ironflow server that is not a success, or no answer at all (status 0, code "unavailable"). */
export class IronflowError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = "IronflowError";
    this.code = code;
    this.status = status;
  }
}

/** `secrets.get(name)` for a name the function did not declare in `secrets: [...]`. Ends the attempt for good. */
export class SecretNotDeclaredError extends Error {
  readonly secret: string;
  readonly functionId: string;
  readonly declared: readonly string[];
  constructor(secret: string, functionId: string, declared: readonly string[]) {
    super(
      `secret "${secret}" is not declared by function "${functionId}" ` +
        `(declared: ${declared.length ? declared.join(", ") : "none"}); add it to the function's secrets: [...]`,
    );
    this.name = "SecretNotDeclaredError";
    this.secret = secret;
    this.functionId = functionId;
    this.declared = declared;
  }
}

/** `secrets.get(name)` for a declared name that was not delivered (not set in the run's environment). */
export class SecretNotSetError extends Error {
  readonly secret: string;
  readonly functionId: string;
  constructor(secret: string, functionId: string) {
    super(`secret "${secret}" is declared by function "${functionId}" but was not delivered (is it set in this environment?)`);
    this.name = "SecretNotSetError";
    this.secret = secret;
    this.functionId = functionId;
  }
}

/** Thrown by a handler to fail the attempt without a retry (other errors are retried under the function's policy). */
export class NonRetryableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NonRetryableError";
  }
}
