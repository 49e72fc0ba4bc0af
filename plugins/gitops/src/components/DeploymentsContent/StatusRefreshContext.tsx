import { createContext, useContext } from 'react';

/** Reloads the entity's status now (after an action), where a view provides it. */
export const StatusRefreshContext = createContext<() => void>(() => {});

export function useStatusRefresh() {
  return useContext(StatusRefreshContext);
}
