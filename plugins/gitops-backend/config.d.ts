export interface Config {
  /**
   * Argo CD instances, configured as the existing Argo CD plugins do, so switching
   * plugins means changing packages only.
   */
  argocd?: {
    /** Default user for instances that name neither a token nor their own user. */
    username?: string;
    /**
     * Password of the default user.
     * @visibility secret
     */
    password?: string;
    appLocatorMethods?: Array<{
      /** Only `config` is supported: the instances are listed here. */
      type: 'config';
      instances: Array<{
        /** Unique name; the `argocd/instance-name` annotation refers to it. */
        name: string;
        /** Base URL of the Argo CD API server, e.g. https://argocd.example.com */
        url: string;
        /** URL of the Argo CD UI when it differs from `url`; used for links. */
        frontendUrl?: string;
        /**
         * Argo CD API token (account or project token).
         * @visibility secret
         */
        token?: string;
        /** User for a session token, when no token is given. */
        username?: string;
        /**
         * Password of that user.
         * @visibility secret
         */
        password?: string;
      }>;
    }>;
  };
  gitops?: {
    /** Environments in pipeline order. Default: dev, staging, prod. */
    environments?: string[];
  };
}
