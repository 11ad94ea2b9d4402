/**
 * Every MQTT topic the agent publishes or subscribes to, in one place, so discovery can only
 * reference topics the publisher really writes.
 */

export interface TopicOptions {
  /** "lanwatch" (config mqtt.baseTopic). */
  baseTopic: string;
  /** "homeassistant" (config mqtt.discoveryPrefix). */
  discoveryPrefix: string;
  nodeId: string;
}

export class Topics {
  /** `online`/`offline`, retained; the broker publishes `offline` as our will. */
  readonly availability: string;
  /** One JSON document with every live value, every state interval. */
  readonly state: string;
  /** Home Assistant device-based discovery (HA 2024.11+). */
  readonly discovery: string;
  /** HA's birth/will topic: `online` means it restarted and needs discovery again. */
  readonly haStatus: string;
  private readonly root: string;

  constructor(options: TopicOptions) {
    this.root = `${options.baseTopic}/${options.nodeId}`;
    this.availability = `${this.root}/availability`;
    this.state = `${this.root}/state`;
    this.discovery = `${options.discoveryPrefix}/device/${options.nodeId}/config`;
    this.haStatus = `${options.discoveryPrefix}/status`;
  }

  /** `ON`/`OFF`, retained. */
  alarm(name: string): string {
    return `${this.root}/alarm/${name}`;
  }

  /** The alarm's attributes JSON, retained, published on change only. */
  alarmAttributes(name: string): string {
    return `${this.root}/alarm/${name}/attributes`;
  }
}
