import { EntityDeploymentStatus } from '@gitops-backstage/plugin-gitops-common';
import Box from '@material-ui/core/Box';
import { Fragment, useRef } from 'react';
import { useElementWidth } from '../../hooks/useElementWidth';
import { lastEnvironment, pipelineEnvironments } from '../common/pipelineOrder';
import { EnvironmentLane, MissingLane } from './EnvironmentLane';
import { PromotionStep } from './PromotionStep';

/** Narrower than this, a lane's badges and buttons crowd: the lanes stack instead. */
const MIN_LANE_PX = 240;
const STEP_PX = 136;
const GAP_PX = 8;

/**
 * The environments in pipeline order, as lanes of equal width with the promotion
 * between each two; stacked, top to bottom, where the pipeline has no room for them
 * side by side. An environment nobody answered for names the failing instances.
 */
export function EnvironmentPipeline(props: { status: EntityDeploymentStatus }) {
  const { status } = props;
  const ref = useRef<HTMLDivElement>(null);
  const width = useElementWidth(ref);
  const last = lastEnvironment(status);
  const lanes = pipelineEnvironments(status).map(name => ({
    name,
    envs: status.environments.filter(e => e.environment === name),
  }));
  const wideEnough =
    lanes.length * MIN_LANE_PX + (lanes.length - 1) * (STEP_PX + 2 * GAP_PX);
  // Unmeasured (no layout, as in tests): side by side.
  const stacked = width !== undefined && width < wideEnough;
  return (
    <div
      ref={ref}
      style={{
        display: 'grid',
        gridTemplateColumns: stacked
          ? 'minmax(0, 1fr)'
          : lanes.map(() => 'minmax(0, 1fr)').join(` ${STEP_PX}px `),
        gap: GAP_PX,
        alignItems: 'stretch',
      }}
      data-testid="pipeline"
      data-layout={stacked ? 'stacked' : 'row'}
    >
      {lanes.map(({ name, envs }, i) => (
        <Fragment key={name}>
          {i > 0 && (
            <PromotionStep
              entityRef={status.entityRef}
              from={lanes[i - 1].envs[0]}
              to={envs[0]}
              fromFirst={i === 1}
              toLast={name === last}
              stacked={stacked}
            />
          )}
          <Box
            display="flex"
            flexDirection="column"
            minWidth={0}
            style={{ gap: GAP_PX }}
          >
            {envs.length > 0 ? (
              envs.map((env, j) => (
                <EnvironmentLane
                  key={`${env.instance}/${env.application.name}`}
                  entityRef={status.entityRef}
                  env={env}
                  first={i === 0}
                  last={name === last}
                  // The lane the promotion starts from, as PromotionStep takes it.
                  next={j === 0 ? lanes[i + 1]?.envs[0] : undefined}
                />
              ))
            ) : (
              <MissingLane environment={name} errors={status.errors} />
            )}
          </Box>
        </Fragment>
      ))}
    </div>
  );
}
