/** gRPC status codes Argo CD's API puts in its error bodies, with their HTTP statuses. */
const GRPC = {
  InvalidArgument: { code: 3, status: 400 },
  NotFound: { code: 5, status: 404 },
  PermissionDenied: { code: 7, status: 403 },
  FailedPrecondition: { code: 9, status: 400 },
  Internal: { code: 13, status: 500 },
  Unavailable: { code: 14, status: 503 },
  Unauthenticated: { code: 16, status: 401 },
} as const;

/** An error answered in Argo CD's shape: `{code, message, error, details}`. */
export class ArgoError extends Error {
  readonly code: number;
  readonly status: number;

  constructor(kind: keyof typeof GRPC, message: string) {
    super(message);
    this.code = GRPC[kind].code;
    this.status = GRPC[kind].status;
  }

  get body() {
    return {
      error: this.message,
      code: this.code,
      message: this.message,
      details: [],
    };
  }
}
