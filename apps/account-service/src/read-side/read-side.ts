// Runs the read-model projections with the app, and lets reads wait for a position.
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ProjectionLaggingError, ReadModelRunner, ReadModelStatus } from '#projections';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { ProblemException } from '../common/problem.js';

export const READ_MODEL_RUNNER = Symbol('READ_MODEL_RUNNER');

@Injectable()
export class ReadSide implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(READ_MODEL_RUNNER) readonly runner: ReadModelRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }

  status(): ReadModelStatus[] {
    return this.runner.status();
  }

  /** Read-your-writes: wait (bounded) until `projection` has applied `minPosition`. */
  async waitFor(projection: string, minPosition: number | undefined): Promise<void> {
    if (minPosition === undefined) return;
    try {
      await this.runner.waitFor(projection, minPosition, this.config.readWaitMs);
    } catch (error) {
      if (error instanceof ProjectionLaggingError) {
        throw ProblemException.of(503, 'projection_lagging', `${error.message}; retry later.`);
      }
      throw error;
    }
  }
}
