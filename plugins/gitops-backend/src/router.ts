import Router from 'express-promise-router';
import express from 'express';
import { GitopsConfig } from './config';

export interface RouterOptions {
  config: GitopsConfig;
  liveStateSourceIds: () => string[];
}

export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { config, liveStateSourceIds } = options;
  const router = Router();
  router.use(express.json({ limit: '64kb' }));

  // What the plugin runs with; names only, never URLs with credentials or tokens.
  router.get('/health', (_req, res) => {
    res.json({
      status: 'ok',
      environments: config.environments,
      instances: config.instances.map(i => i.name),
      liveStateSources: liveStateSourceIds(),
    });
  });

  return router;
}
