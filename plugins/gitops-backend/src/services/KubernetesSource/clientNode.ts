import type * as ClientNode from '@kubernetes/client-node';

// @kubernetes/client-node is an ES module. The CommonJS build backstage-cli publishes
// would require() it, which fails in an adopter's backend ("module not been linked"):
// it is imported when first needed instead, as Backstage's own Kubernetes backend does.
let loading: Promise<typeof ClientNode> | undefined;
let loaded: typeof ClientNode | undefined;

/** @kubernetes/client-node, imported once. */
export async function clientNode(): Promise<typeof ClientNode> {
  loading ??= importClientNode().then(module => {
    loaded = module;
    return module;
  });
  return loading;
}

async function importClientNode(): Promise<typeof ClientNode> {
  try {
    return await import('@kubernetes/client-node');
  } catch (error) {
    // Jest runs modules in a vm without import() (unless Node runs with
    // --experimental-vm-modules); there, its transform makes the ES module requirable.
    if (
      (error as { code?: string }).code !==
      'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG'
    ) {
      throw error;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@kubernetes/client-node');
  }
}

/** Whether `error` is client-node's ApiException (an API answer with its status). */
export function isApiException(
  error: unknown,
): error is ClientNode.ApiException<unknown> {
  return Boolean(loaded && error instanceof loaded.ApiException);
}
