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
    /**
     * Environment of an Application without the `gitops/environment` label: its
     * destination namespace (default) or the name of its Argo CD instance.
     */
    environmentFallback?: 'destination-namespace' | 'instance';
    /** How long upstream answers are cached. Default 10. */
    cacheSeconds?: number;
    /** Timeout of every upstream call. Default 5. */
    timeoutSeconds?: number;
    /**
     * Watch each Argo CD instance (`/api/v1/stream/applications`) and keep its
     * Applications in memory, so views read no upstream and browsers hear of changes
     * through signals. Where an instance refuses the stream, it is listed every
     * 10 s instead. Default true; false asks the instances on each view (cached for
     * `cacheSeconds`).
     */
    watch?: boolean;
    /**
     * With `watch`, the config repositories' files the desired state needs are kept in
     * memory; every this many seconds each repository is asked (one small `ls-refs`
     * request per branch) whether its branch moved, and read again if it did. Push
     * webhooks (the events backend's GitHub and GitLab modules) refresh at once.
     * Default 180, as Argo CD's own repository polling.
     */
    refCheckSeconds?: number;
    /**
     * At most this many Applications per entity: an entity whose annotations match more
     * gets an error naming the limit instead of a Git read and a Rollout call for each.
     * Default 50.
     */
    maxApplicationsPerEntity?: number;
    /** Upstream calls in flight at once per Argo CD instance or cluster. Default 8. */
    concurrencyPerInstance?: number;
    /** Where values files hold the image reference. */
    image?: {
      /** Default `image.repository`. */
      repositoryKey?: string;
      /** Default `image.tag`. */
      tagKey?: string;
      /** Default `image.digest`. */
      digestKey?: string;
    };
    /**
     * Clusters whose Argo CD Application resources are read directly (Argo CD in core
     * mode, or where no Argo CD API token may be given).
     */
    kubernetes?: {
      clusters?: Array<{
        /** Unique among clusters and Argo CD instances; `argocd/instance-name` selects it. */
        name: string;
        /** Kubernetes API server URL. */
        url: string;
        /**
         * Token of a service account allowed to get, list and watch applications.argoproj.io.
         * @visibility secret
         */
        serviceAccountToken: string;
        /** Base64 PEM of the API server's CA. */
        caData?: string;
        skipTLSVerify?: boolean;
        /** An Argo CD UI for links, if any. */
        frontendUrl?: string;
        /** Namespace of Applications named by `argocd/app-name`. Default `argocd`. */
        applicationNamespace?: string;
      }>;
    };
    /**
     * Argo CD projects handed to catalog owners. An Application in a listed project may
     * be synced, refreshed, rolled back and promoted from entities its owners own, even
     * when it does not name the entity (annotation `gitops.backstage.io/entity-ref`);
     * `argocd:application:create` creates Applications only in projects owned by the
     * user who runs the template, towards the destinations listed.
     */
    projects?: Array<{
      /** Argo CD project name. */
      name: string;
      /** Entity refs of its owners, e.g. `group:default/team-checkout`. */
      owners: string[];
      /** Where its Applications may deploy; a namespace may end in `*`. */
      destinations?: Array<{
        server?: string;
        name?: string;
        namespace: string;
      }>;
      /**
       * Repositories its Applications may use, as Argo CD's AppProject `sourceRepos`:
       * an exact URL or a glob with `*` (trailing `.git` and `/` ignored, host
       * case-insensitive). The portal writes (promotion, rollback through Git) only
       * to these, and `argocd:application:create` creates Applications only with
       * sources among them. None listed: no repository is allowed.
       */
      sourceRepos?: string[];
    }>;
    promotion?: {
      /**
       * How a promotion reaches each environment: `commit` (direct) or
       * `pull-request`. Default: commit, and pull request for the last environment.
       */
      methods?: { [environment: string]: 'commit' | 'pull-request' };
      /** Whether promotions may skip environments (forward only). Default false. */
      allowSkip?: boolean;
      /**
       * Minutes a source environment must have run its version before it is
       * promoted further, e.g. `{ staging: 60 }`.
       */
      soakMinutes?: { [environment: string]: number };
      /** Times when promotions into the environments listed (all when none) are refused. */
      freezeWindows?: Array<{
        environments?: string[];
        /** ISO 8601 date-time with offset. */
        start: string;
        end: string;
        reason?: string;
      }>;
    };
    helm?: {
      /**
       * The helm binary: with it, a promotion preview also shows the diff of the
       * manifests `helm template` renders. Default: no rendered diff.
       */
      command?: string;
    };
    /**
     * Helm chart repositories whose versions the backend may read, to show the newest
     * chart version of Applications deploying from them (as Argo CD's repository
     * secrets: `type: helm`). Others are never contacted.
     */
    chartRepositories?: Array<{
      /** `https://charts.example.com/stable`, or `ghcr.io/org/charts` with enableOCI. */
      url: string;
      /** An OCI registry (Argo CD's `enableOCI`). */
      enableOCI?: boolean;
      /** OCI over plain HTTP. */
      insecure?: boolean;
      username?: string;
      /** @visibility secret */
      password?: string;
    }>;
    /**
     * Image registries whose images' `org.opencontainers.image.revision` label may be
     * read, to find the app-repository commit of a version. Others are never contacted.
     */
    imageRegistries?: Array<{
      /** As image references name it: `ghcr.io`, `registry.example.com:5000`, `docker.io`. */
      host: string;
      /** Where its API answers when not `https://<host>` (a mirror). */
      url?: string;
      username?: string;
      /** @visibility secret */
      password?: string;
    }>;
    /** The four DORA figures, from the deployments the backend records. */
    dora?: {
      /**
       * A rollback, a failed sync or a Degraded state this long after a deployment
       * makes it a failed change. Default 24.
       */
      failureWindowHours?: number;
      /** How often the deployments Argo CD shows are recorded. Default 30. */
      recordSeconds?: number;
    };
    /** The app-repository commits between two versions (Promote dialog, lanes, history). */
    changeLog?: {
      /** Commits listed; the rest are counted ("and N more"). Default 250. */
      maxCommits?: number;
      /** Commits of history fetched from an app repository on plain Git. Default 1000. */
      fetchDepth?: number;
    };
    git?: {
      /**
       * Credentials for config repositories on Git servers that no Backstage
       * integration covers (GitHub, GitLab, Bitbucket Server and Gitea use theirs).
       */
      credentials?: Array<{
        /** Host, with port when not the default, e.g. git.example.com:8443 */
        host: string;
        /** Default `git`. */
        username?: string;
        /**
         * Password or token.
         * @visibility secret
         */
        password: string;
      }>;
    };
  };
}
