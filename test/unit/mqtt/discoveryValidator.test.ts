// The validator must accept a correct payload and, for every rule, reject a
// payload that breaks it: a checker that cannot fail proves nothing.
import { describe, it, expect } from 'vitest';
import { validateDeviceDiscovery } from '../../mqtt/discoveryValidator.ts';

type Obj = Record<string, unknown>;

const TOPIC = 'homeassistant/device/lanwatch_0242ac110002/config';
const STATE = 'lanwatch/0242ac110002/state';
const AVAIL = 'lanwatch/0242ac110002/status';
const ALARM = 'lanwatch/0242ac110002/alarm/broadcast_storm';
const ALARM_ATTR = 'lanwatch/0242ac110002/alarm/broadcast_storm/attributes';
const PUBLISHED: ReadonlySet<string> = new Set([STATE, AVAIL, ALARM, ALARM_ATTR]);

/** A payload in the shape the agent sends: abbreviated keys, shared stat_t/avty_t at the root. */
function good(): Obj {
  return {
    dev: {
      ids: ['lanwatch_0242ac110002'],
      cns: [['mac', '02:42:ac:11:00:02']],
      name: 'router',
      mf: 'Raspberry Pi Ltd',
      mdl: 'Raspberry Pi 4 Model B Rev 1.5',
      sw: 'OpenWrt 24.10.0',
    },
    o: { name: 'lanwatch', sw: '0.1.0', url: 'https://example.invalid/lanwatch' },
    avty_t: AVAIL,
    stat_t: STATE,
    qos: 1,
    cmps: {
      nat_table_usage: {
        p: 'sensor',
        uniq_id: 'lanwatch_0242ac110002_nat_table_usage',
        default_entity_id: 'sensor.router_nat_table_usage',
        name: 'NAT table usage',
        val_tpl: '{{ value_json.conntrack.pct }}',
        unit_of_meas: '%',
        stat_cla: 'measurement',
        suggested_display_precision: 1,
        exp_aft: 30,
      },
      eth0_rx_rate: {
        p: 'sensor',
        uniq_id: 'lanwatch_0242ac110002_eth0_rx_rate',
        name: 'eth0 received',
        val_tpl: "{{ value_json.ports['eth0'].rx_bytes_ps }}",
        unit_of_meas: 'B/s',
        dev_cla: 'data_rate',
        stat_cla: 'measurement',
        exp_aft: 30,
      },
      agent_started: {
        p: 'sensor',
        uniq_id: 'lanwatch_0242ac110002_agent_started',
        name: 'Agent started',
        val_tpl: '{{ value_json.agent.started_at }}',
        dev_cla: 'timestamp',
        ent_cat: 'diagnostic',
      },
      alarm_broadcast_storm: {
        p: 'binary_sensor',
        uniq_id: 'lanwatch_0242ac110002_alarm_broadcast_storm',
        def_ent_id: 'binary_sensor.router_broadcast_storm',
        name: 'Broadcast storm',
        dev_cla: 'problem',
        '~': 'lanwatch/0242ac110002/alarm/broadcast_storm',
        stat_t: '~',
        json_attr_t: '~/attributes',
      },
      old_port_rx: { p: 'sensor' },
    },
  };
}

function cmp(payload: Obj, id: string): Obj {
  return (payload.cmps as Record<string, Obj>)[id] as Obj;
}

/** Runs the validator on good() after fn mutates it. */
function problemsAfter(fn: (p: Obj) => void, topic = TOPIC): string[] {
  const p = good();
  fn(p);
  return validateDeviceDiscovery(topic, p, { publishedTopics: PUBLISHED });
}

function expectProblem(problems: string[], pattern: RegExp): void {
  expect(problems, `expected a problem matching ${pattern}`).toEqual(expect.arrayContaining([expect.stringMatching(pattern)]));
}

describe('validateDeviceDiscovery: a correct payload', () => {
  it('has no problems, as an object, as JSON text and as a Buffer', () => {
    expect(validateDeviceDiscovery(TOPIC, good(), { publishedTopics: PUBLISHED })).toEqual([]);
    expect(validateDeviceDiscovery(TOPIC, JSON.stringify(good()), { publishedTopics: PUBLISHED })).toEqual([]);
    expect(validateDeviceDiscovery(TOPIC, Buffer.from(JSON.stringify(good())), {})).toEqual([]);
  });

  it('accepts full key names and connections without identifiers', () => {
    const p: Obj = {
      device: { connections: [['mac', '02:42:ac:11:00:02']], name: 'router', via_device: 'hub1' },
      origin: { name: 'lanwatch', sw_version: '0.1.0', support_url: 'https://example.invalid' },
      availability: [{ topic: AVAIL, payload_available: 'online', payload_not_available: 'offline' }],
      components: {
        clients: {
          platform: 'sensor',
          unique_id: 'x_clients',
          state_topic: STATE,
          unit_of_measurement: 'clients',
          state_class: 'measurement',
          entity_category: 'diagnostic',
          expire_after: 60,
        },
      },
    };
    expect(validateDeviceDiscovery(TOPIC, p, { publishedTopics: PUBLISHED })).toEqual([]);
  });
});

describe('validateDeviceDiscovery: each rule can fail', () => {
  it('topic shape and object_id charset', () => {
    expectProblem(problemsAfter(() => {}, 'homeassistant/sensor/lanwatch/config'), /topic: .* is not <prefix>\/device\/<object_id>\/config/);
    expectProblem(problemsAfter(() => {}, 'homeassistant/device/lan.watch/config'), /object_id "lan\.watch" must match/);
    expectProblem(problemsAfter(() => {}, 'home/+/device/x/config'), /discovery prefix "home\/\+" is not a plain topic/);
  });

  it('payload must be a JSON object', () => {
    expectProblem(validateDeviceDiscovery(TOPIC, '{not json', {}), /payload: not JSON/);
    expectProblem(validateDeviceDiscovery(TOPIC, '', {}), /payload: empty/);
    expectProblem(validateDeviceDiscovery(TOPIC, [1, 2], {}), /payload: must be a JSON object/);
  });

  it('device with identifiers or connections', () => {
    expectProblem(problemsAfter((p) => { delete p.dev; }), /dev: device \(dev\) is required/);
    expectProblem(problemsAfter((p) => { p.dev = { name: 'router' }; }), /dev: needs identifiers \(ids\) or connections \(cns\)/);
    expectProblem(problemsAfter((p) => { p.dev = { ids: [] }; }), /dev: identifiers must be a non-empty/);
    expectProblem(problemsAfter((p) => { p.dev = { cns: [['mac']] }; }), /dev: connections must be a non-empty list of \[type, id\] pairs/);
  });

  it('origin with a name', () => {
    expectProblem(problemsAfter((p) => { delete p.o; }), /o: origin \(o\) is required/);
    expectProblem(problemsAfter((p) => { p.o = { sw: '1' }; }), /o: origin name is required/);
  });

  it('components: a non-empty object', () => {
    expectProblem(problemsAfter((p) => { p.cmps = {}; }), /cmps: components \(cmps\) must be a non-empty object/);
    expectProblem(problemsAfter((p) => { delete p.cmps; }), /cmps: components \(cmps\) must be a non-empty object/);
  });

  it('unknown keys at root, in dev, in o, in a component and in an availability item', () => {
    expectProblem(problemsAfter((p) => { p.stat_topic = STATE; }), /root: unknown key "stat_topic"/);
    expectProblem(problemsAfter((p) => { (p.dev as Obj).model_name = 'x'; }), /dev: unknown key "model_name"/);
    expectProblem(problemsAfter((p) => { (p.o as Obj).version = '1'; }), /o: unknown key "version"/);
    expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').unit = '%'; }), /cmps\.nat_table_usage: unknown key "unit"/);
    expectProblem(problemsAfter((p) => { p.avty = [{ t: AVAIL, payload: 'online' }]; delete p.avty_t; }), /availability\[0\]: "payload" is not an availability item option/);
  });

  it('a key given both in full and abbreviated', () => {
    expectProblem(problemsAfter((p) => { p.state_topic = STATE; }), /root: "state_topic" is given twice, as "stat_t" and "state_topic"/);
    expectProblem(problemsAfter((p) => { (p.dev as Obj).identifiers = ['x']; }), /dev: "identifiers" is given twice/);
    expectProblem(problemsAfter((p) => { cmp(p, 'eth0_rx_rate').unique_id = 'x'; }), /cmps\.eth0_rx_rate: "unique_id" is given twice/);
  });

  it('platform required and known', () => {
    expectProblem(problemsAfter((p) => { delete cmp(p, 'nat_table_usage').p; }), /cmps\.nat_table_usage: platform \(p\) undefined is not a known MQTT platform/);
    expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').p = 'sensors'; }), /platform \(p\) "sensors" is not a known/);
  });

  it('every known platform in the brief is accepted', () => {
    for (const platform of ['sensor', 'binary_sensor', 'button', 'switch', 'number', 'select', 'text', 'update', 'event', 'device_tracker']) {
      const problems = problemsAfter((p) => { cmp(p, 'old_port_rx').p = platform; });
      expect(problems.filter((m) => m.includes('platform'))).toEqual([]);
    }
  });

  it('entity components need a unique_id, unique across components', () => {
    expectProblem(problemsAfter((p) => { delete cmp(p, 'nat_table_usage').uniq_id; }), /cmps\.nat_table_usage: unique_id \(uniq_id\) is required/);
    expectProblem(
      problemsAfter((p) => { cmp(p, 'eth0_rx_rate').uniq_id = 'lanwatch_0242ac110002_nat_table_usage'; }),
      /unique_id "lanwatch_0242ac110002_nat_table_usage" is used by cmps\.nat_table_usage, cmps\.eth0_rx_rate/,
    );
  });

  it('component ids use [a-zA-Z0-9_-]', () => {
    expectProblem(problemsAfter((p) => { (p.cmps as Obj)['eth0.2_rx'] = cmp(p, 'eth0_rx_rate'); delete (p.cmps as Obj).eth0_rx_rate; }), /cmps\.eth0\.2_rx: component id must match/);
  });

  it('a removal marker is only {"p": ...}; anything more is a full component', () => {
    expect(problemsAfter(() => {}).filter((m) => m.includes('old_port_rx'))).toEqual([]);
    expectProblem(problemsAfter((p) => { cmp(p, 'old_port_rx').name = 'x'; }), /cmps\.old_port_rx: unique_id \(uniq_id\) is required/);
  });

  it('components cannot carry dev, o or cmps', () => {
    expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').dev = { ids: ['x'] }; }), /cmps\.nat_table_usage: "device" belongs at the root only/);
    expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').o = { name: 'x' }; }), /"origin" belongs at the root only/);
  });

  it('no object_id; default_entity_id starts with the platform and is a valid entity id', () => {
    expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').object_id = 'router_nat'; }), /object_id is deprecated .*default_entity_id/);
    expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').obj_id = 'router_nat'; }), /object_id is deprecated/);
    expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').default_entity_id = 'binary_sensor.router_nat'; }), /default_entity_id "binary_sensor\.router_nat" must start with "sensor\."/);
    expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').default_entity_id = 'sensor.router-nat'; }), /default_entity_id "sensor\.router-nat" is not a valid entity id/);
  });

  it('sensor: device_class needs a unit; data_rate needs an HA data rate unit', () => {
    expectProblem(problemsAfter((p) => { delete cmp(p, 'eth0_rx_rate').unit_of_meas; }), /cmps\.eth0_rx_rate: device_class "data_rate" needs unit_of_measurement/);
    expectProblem(problemsAfter((p) => { cmp(p, 'eth0_rx_rate').unit_of_meas = 'Kbps'; }), /unit "Kbps" is not a data_rate unit/);
    expectProblem(problemsAfter((p) => { cmp(p, 'eth0_rx_rate').unit_of_meas = 'MB'; }), /unit "MB" is not a data_rate unit/);
  });

  it('sensor: duration needs an HA time unit', () => {
    const withDuration = (unit: string) => (p: Obj): void => {
      Object.assign(cmp(p, 'nat_table_usage'), { dev_cla: 'duration', unit_of_meas: unit });
    };
    expect(problemsAfter(withDuration('s'))).toEqual([]);
    expectProblem(problemsAfter(withDuration('sec')), /unit "sec" is not a duration unit/);
    expectProblem(problemsAfter(withDuration('seconds')), /unit "seconds" is not a duration unit/);
  });

  it('json_attributes_template needs a json_attributes_topic of the component', () => {
    expectProblem(
      problemsAfter((p) => { cmp(p, 'nat_table_usage').json_attr_tpl = '{{ value_json | tojson }}'; }),
      /cmps\.nat_table_usage: json_attributes_template without json_attributes_topic/,
    );
    expect(problemsAfter((p) => { Object.assign(cmp(p, 'nat_table_usage'), { json_attr_t: STATE, json_attr_tpl: '{{ value_json | tojson }}' }); })).toEqual([]);
  });

  it('sensor: state_class is one of HA\'s and a numeric sensor has a unit', () => {
    expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').stat_cla = 'measurment'; }), /state_class "measurment" is not one of measurement, measurement_angle, total, total_increasing/);
    expectProblem(problemsAfter((p) => { delete cmp(p, 'nat_table_usage').unit_of_meas; }), /cmps\.nat_table_usage: numeric sensor \(state_class "measurement"\) has no unit_of_measurement/);
  });

  it('sensor: entity_category config is rejected; only config/diagnostic exist at all', () => {
    expectProblem(problemsAfter((p) => { cmp(p, 'agent_started').ent_cat = 'config'; }), /entity_category "config" is invalid for a sensor/);
    expectProblem(problemsAfter((p) => { cmp(p, 'alarm_broadcast_storm').ent_cat = 'system'; }), /entity_category "system" is not "config" or "diagnostic"/);
  });

  it('binary_sensor: device_class from HA\'s list', () => {
    expectProblem(problemsAfter((p) => { cmp(p, 'alarm_broadcast_storm').dev_cla = 'alarm'; }), /binary_sensor device_class "alarm" is not one of/);
    for (const ok of ['problem', 'connectivity', 'running', 'update']) {
      expect(problemsAfter((p) => { cmp(p, 'alarm_broadcast_storm').dev_cla = ok; })).toEqual([]);
    }
  });

  it('expire_after is a positive integer', () => {
    for (const bad of [0, -5, 1.5, '30']) {
      expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').exp_aft = bad; }), /expire_after must be a positive integer/);
    }
  });

  it('every referenced topic was published, after ~ expansion', () => {
    expectProblem(
      validateDeviceDiscovery(TOPIC, good(), { publishedTopics: new Set([STATE, AVAIL, ALARM]) }),
      /"lanwatch\/0242ac110002\/alarm\/broadcast_storm\/attributes" is referenced \(json_attributes_topic of cmps\.alarm_broadcast_storm\) but was never published/,
    );
    expectProblem(
      validateDeviceDiscovery(TOPIC, good(), { publishedTopics: new Set([AVAIL, ALARM, ALARM_ATTR]) }),
      /"lanwatch\/0242ac110002\/state" is referenced \(state_topic of cmps\.nat_table_usage; state_topic of cmps\.eth0_rx_rate; state_topic of cmps\.agent_started\)/,
    );
    expectProblem(
      validateDeviceDiscovery(TOPIC, good(), { publishedTopics: new Set([STATE, ALARM, ALARM_ATTR]) }),
      /"lanwatch\/0242ac110002\/status" is referenced \(availability_topic of cmps\.nat_table_usage/,
    );
    expectProblem(
      problemsAfter((p) => { delete p.avty_t; p.avty = [{ t: 'lanwatch/other/status' }]; }),
      /"lanwatch\/other\/status" is referenced \(availability\[0\]\.topic of cmps\.nat_table_usage/,
    );
  });

  it('a component inherits the root stat_t; without either a sensor has no state', () => {
    expectProblem(problemsAfter((p) => { delete p.stat_t; }), /cmps\.nat_table_usage: sensor has no state_topic \(stat_t\) of its own and none at the root/);
    expectProblem(problemsAfter((p) => { delete cmp(p, 'alarm_broadcast_storm').stat_t; delete p.stat_t; }), /cmps\.alarm_broadcast_storm: binary_sensor has no state_topic/);
    // The alarm's own stat_t wins over the root one: no complaint about the alarm then.
    expect(problemsAfter((p) => { delete p.stat_t; }).filter((m) => m.startsWith('cmps.alarm_broadcast_storm'))).toEqual([]);
  });

  it('~ must be set in the component that uses it; a root ~ is not inherited', () => {
    expectProblem(problemsAfter((p) => { delete cmp(p, 'alarm_broadcast_storm')['~']; }), /cmps\.alarm_broadcast_storm: state_topic "~" uses "~" but this component sets no "~" base/);
    expectProblem(problemsAfter((p) => { p['~'] = 'lanwatch/0242ac110002'; }), /root: "~" is not inherited by components/);
  });

  it('availability and availability_topic are not combined', () => {
    expectProblem(problemsAfter((p) => { p.avty = [{ t: AVAIL }]; }), /root: availability and availability_topic must not be used together/);
    expectProblem(problemsAfter((p) => { cmp(p, 'nat_table_usage').avty = [{ t: AVAIL }]; }), /cmps\.nat_table_usage: availability and availability_topic must not be used together/);
  });
});
