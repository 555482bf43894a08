// Starts the service's checkpointed processors with the app and stops them with it; their state
// feeds /readyz.
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { EventProcessor, ProcessorRunner, ProcessorStatus } from '#projections';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { CommandBus } from '@nestjs/cqrs';
import { DirectoryReader } from '../tenants/directory-reader.js';
import { LicenseReleaseProcessor } from '../licenses/license-release.processor.js';

export const PROCESSOR_RUNNER = Symbol('PROCESSOR_RUNNER');

@Injectable()
export class Processors implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Processors');

  constructor(
    @Inject(PROCESSOR_RUNNER) private readonly runner: ProcessorRunner,
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(DirectoryReader) private readonly reader: DirectoryReader,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private all(): EventProcessor[] {
    return [new LicenseReleaseProcessor(this.commands, this.reader)];
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const processor of this.all()) {
      if (this.config.disabledProcessors.includes(processor.name)) {
        this.logger.warn(`processor ${processor.name} is disabled by PROCESSORS_DISABLED`);
        continue;
      }
      await this.runner.start(processor);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stopAll();
  }

  status(): ProcessorStatus[] {
    return this.runner.status();
  }

  caughtUp(name: string, position: number, timeoutMs?: number): Promise<void> {
    return this.runner.caughtUp(name, position, timeoutMs);
  }
}
