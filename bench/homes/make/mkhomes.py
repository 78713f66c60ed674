"""Build two fabricated Home Assistant registries and run them through the real
importer (home_from_registry + write_catalog), then put the demo home's full
functions.toml in place. Kept so the homes can be rebuilt: python bench/homes/make/mkhomes.py"""

import hashlib
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from octohome.importing.catalog_writer import write_catalog
from octohome.importing.homeassistant import Registry, home_from_registry

ROOT = Path(__file__).resolve().parents[3]
FUNCS = ROOT / "devices" / "functions.toml"

COLOR = {"supported_color_modes": ["color_temp", "xy"]}
HS = {"supported_color_modes": ["hs"]}
DIM = {"supported_color_modes": ["brightness"]}
ONOFF = {"supported_color_modes": ["onoff"]}
BLIND = {"supported_features": 15, "device_class": "blind"}  # open, close, stop, position
SHADE = {"supported_features": 15, "device_class": "shade"}
CURTAIN_OC = {"supported_features": 3, "device_class": "curtain"}  # open/close only
GARAGE = {"supported_features": 3, "device_class": "garage"}
FAN_SPEED = {"supported_features": 1 | 16 | 32, "percentage_step": 33.33}
FAN_ONOFF = {"supported_features": 16 | 32}
MEDIA_ALL = 1 | 4 | 8 | 1024 | 16384 | 128 | 256  # pause, volume set/mute/step, play, on/off
TV = {"supported_features": MEDIA_ALL, "device_class": "tv"}
SPEAKER = {"supported_features": MEDIA_ALL, "device_class": "speaker"}
RECEIVER = {"supported_features": MEDIA_ALL, "device_class": "receiver"}
THERMO_HEAT = {"supported_features": 1 | 128 | 256,
               "hvac_modes": ["off", "heat", "heat_cool"], "min_temp": 7, "max_temp": 30}
AC = {"supported_features": 1 | 8 | 128 | 256,
      "hvac_modes": ["off", "heat", "cool", "auto", "dry", "fan_only"]}
PLAIN = {}


def rid(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:32]


def registry(ents, areas, floors, scenes, extra_states=()):
    """ents: (entity_id, friendly name, area_id or None, attrs, aliases)."""
    states, entities, entries, exposed, devices = [], [], {}, {}, []
    for eid, name, area, attrs, aliases in ents:
        attrs = dict(attrs)
        attrs["friendly_name"] = name
        states.append({"entity_id": eid, "state": "off", "attributes": attrs})
        dev_id = rid("dev" + eid)
        entry = {"entity_id": eid, "id": rid(eid), "area_id": None, "device_id": dev_id,
                 "name": None, "original_name": name, "aliases": list(aliases),
                 "options": {"conversation": {"should_expose": True}}}
        entities.append(entry)
        entries[eid] = entry
        # the area is set on the HA device (the usual case), not the entity
        devices.append({"id": dev_id, "area_id": area})
        exposed[eid] = {"conversation": True}
    for eid, name, aliases in scenes:
        states.append({"entity_id": eid, "state": "unknown",
                       "attributes": {"friendly_name": name}})
        entry = {"entity_id": eid, "id": rid(eid), "area_id": None, "device_id": None,
                 "aliases": list(aliases), "options": {"conversation": {"should_expose": True}}}
        entities.append(entry)
        entries[eid] = entry
        exposed[eid] = {"conversation": True}
    for eid, name in extra_states:  # sensors etc.: skipped by the import
        states.append({"entity_id": eid, "state": "1", "attributes": {"friendly_name": name}})
        exposed[eid] = {"conversation": True}
    return Registry(states=states, exposed=exposed, entities=entities, entries=entries,
                    devices=devices, areas=areas, floors=floors, version="2025.6.1",
                    url="http://homeassistant.local:8123")


def area(area_id, name, floor_id, aliases=()):
    return {"area_id": area_id, "name": name, "floor_id": floor_id, "aliases": list(aliases)}


def floor(floor_id, name, level, aliases=()):
    return {"floor_id": floor_id, "name": name, "level": level, "aliases": list(aliases)}


# -- small: a one-floor flat ------------------------------------------------------------
SMALL_FLOORS = [floor("apartment", "Apartment", 0)]
SMALL_AREAS = [
    area("living_room", "Living Room", "apartment", ["lounge"]),
    area("kitchen", "Kitchen", "apartment"),
    area("bedroom", "Bedroom", "apartment"),
    area("bathroom", "Bathroom", "apartment"),
]
SMALL_ENTS = [
    ("light.living_room_ceiling", "Living Room Ceiling", "living_room", DIM, []),
    ("light.living_room_floor_lamp", "Living Room Floor Lamp", "living_room", COLOR, []),
    ("light.kitchen_lights", "Kitchen Lights", "kitchen", DIM, []),
    ("light.bedroom_ceiling", "Bedroom Ceiling", "bedroom", DIM, []),
    ("light.bedside_lamp", "Bedside Lamp", "bedroom", HS, []),
    ("light.bathroom_light", "Bathroom Light", "bathroom", ONOFF, []),
    ("switch.coffee_maker", "Coffee Maker", "kitchen", PLAIN, []),
    ("cover.living_room_blinds", "Living Room Blinds", "living_room", BLIND, []),
    ("cover.bedroom_blinds", "Bedroom Blinds", "bedroom", BLIND, []),
    ("climate.thermostat", "Thermostat", "living_room", THERMO_HEAT, ["Heating"]),
    ("lock.front_door", "Front Door", None, PLAIN, []),
    ("fan.bedroom_fan", "Bedroom Fan", "bedroom", FAN_SPEED, []),
    ("media_player.living_room_tv", "Living Room TV", "living_room", TV, []),
]
SMALL_SCENES = [
    ("scene.cozy_evening", "Cozy Evening", []),
    ("scene.bedtime", "Bedtime", []),
]
SMALL_OTHER = [("sensor.living_room_temperature", "Living Room Temperature"),
               ("binary_sensor.front_door_contact", "Front Door Contact")]

# -- large: a three-floor house -----------------------------------------------------------
LARGE_FLOORS = [
    floor("basement", "Basement", -1, ["cellar"]),
    floor("ground_floor", "Ground Floor", 0, ["downstairs", "main floor"]),
    floor("first_floor", "First Floor", 1, ["upstairs"]),
]
LARGE_AREAS = [
    area("hallway", "Hallway", "ground_floor", ["hall", "entrance"]),
    area("living_room", "Living Room", "ground_floor", ["lounge"]),
    area("kitchen", "Kitchen", "ground_floor"),
    area("dining_room", "Dining Room", "ground_floor"),
    area("office", "Office", "ground_floor", ["study"]),
    area("master_bedroom", "Master Bedroom", "first_floor", ["main bedroom"]),
    area("kids_room", "Kids Room", "first_floor", ["Emma's room"]),
    area("guest_bedroom", "Guest Bedroom", "first_floor", ["guest room"]),
    area("bathroom", "Bathroom", "first_floor"),
    area("landing", "Landing", "first_floor"),
    area("laundry_room", "Laundry Room", "basement", ["laundry"]),
    area("media_room", "Media Room", "basement", ["cinema", "home theater"]),
    area("garage", "Garage", None),
    area("garden", "Garden", None, ["backyard"]),
]
LARGE_ENTS = [
    # lights (31)
    ("light.hallway_ceiling", "Hallway Ceiling", "hallway", DIM, []),
    ("light.hallway_motion_light", "Hallway Motion Light", "hallway", ONOFF, []),
    ("light.living_room_ceiling", "Living Room Ceiling", "living_room", DIM, []),
    ("light.living_room_floor_lamp", "Living Room Floor Lamp", "living_room", COLOR, []),
    ("light.tv_backlight", "TV Backlight", "living_room", HS, []),
    ("light.bookshelf_lights", "Bookshelf Lights", "living_room", DIM, []),
    ("light.kitchen_ceiling", "Kitchen Ceiling", "kitchen", DIM, []),
    ("light.kitchen_under_cabinet_lights", "Kitchen Under Cabinet Lights", "kitchen", DIM,
     ["Counter Lights"]),
    ("light.kitchen_island_pendants", "Kitchen Island Pendants", "kitchen", DIM, []),
    ("light.dining_room_chandelier", "Dining Room Chandelier", "dining_room", DIM, []),
    ("light.dining_room_wall_sconces", "Dining Room Wall Sconces", "dining_room", DIM, []),
    ("light.office_ceiling", "Office Ceiling", "office", DIM, []),
    ("light.office_desk_lamp", "Office Desk Lamp", "office", COLOR, []),
    ("light.office_shelf_lights", "Office Shelf Lights", "office", HS, []),
    ("light.master_bedroom_ceiling", "Master Bedroom Ceiling", "master_bedroom", DIM, []),
    ("light.left_bedside_lamp", "Left Bedside Lamp", "master_bedroom", COLOR, []),
    ("light.right_bedside_lamp", "Right Bedside Lamp", "master_bedroom", COLOR, []),
    ("light.kids_room_ceiling", "Kids Room Ceiling", "kids_room", DIM, []),
    ("light.kids_room_night_light", "Kids Room Night Light", "kids_room", HS, []),
    ("light.guest_bedroom_ceiling", "Guest Bedroom Ceiling", "guest_bedroom", DIM, []),
    ("light.bathroom_ceiling", "Bathroom Ceiling", "bathroom", DIM, []),
    ("light.bathroom_mirror_light", "Bathroom Mirror Light", "bathroom", ONOFF, []),
    ("light.landing_light", "Landing Light", "landing", DIM, []),
    ("light.stair_lights", "Stair Lights", "landing", DIM, []),
    ("light.laundry_room_light", "Laundry Room Light", "laundry_room", ONOFF, []),
    ("light.media_room_ceiling", "Media Room Ceiling", "media_room", DIM, []),
    ("light.media_room_led_strip", "Media Room LED Strip", "media_room", COLOR, []),
    ("light.garage_light", "Garage Light", "garage", ONOFF, []),
    ("light.garden_patio_lights", "Garden Patio Lights", "garden", DIM, []),
    ("light.garden_path_lights", "Garden Path Lights", "garden", ONOFF, []),
    ("light.front_porch_light", "Front Porch Light", None, ONOFF, []),
    # switches (10)
    ("switch.coffee_machine", "Coffee Machine", "kitchen", PLAIN, []),
    ("switch.kettle", "Kettle", "kitchen", PLAIN, []),
    ("switch.office_space_heater", "Office Space Heater", "office", PLAIN, []),
    ("switch.office_printer", "Office Printer", "office", PLAIN, []),
    ("switch.electric_blanket", "Electric Blanket", "master_bedroom", PLAIN, []),
    ("switch.heated_towel_rail", "Heated Towel Rail", "bathroom", PLAIN, []),
    ("switch.dehumidifier", "Dehumidifier", "laundry_room", PLAIN, []),
    ("switch.garden_fountain", "Garden Fountain", "garden", PLAIN, []),
    ("switch.christmas_tree", "Christmas Tree", None, PLAIN, []),
    ("switch.aquarium", "Aquarium", None, PLAIN, []),
    # covers (9)
    ("cover.living_room_blinds", "Living Room Blinds", "living_room", BLIND, []),
    ("cover.kitchen_blind", "Kitchen Blind", "kitchen", BLIND, []),
    ("cover.dining_room_blinds", "Dining Room Blinds", "dining_room", BLIND, []),
    ("cover.office_blinds", "Office Blinds", "office", BLIND, []),
    ("cover.master_bedroom_blinds", "Master Bedroom Blinds", "master_bedroom", BLIND, []),
    ("cover.kids_room_blinds", "Kids Room Blinds", "kids_room", BLIND, []),
    ("cover.guest_bedroom_curtains", "Guest Bedroom Curtains", "guest_bedroom", CURTAIN_OC, []),
    ("cover.skylight_blind", "Skylight Blind", "landing", SHADE, []),
    ("cover.garage_door", "Garage Door", "garage", GARAGE, []),
    # locks (2)
    ("lock.front_door", "Front Door", "hallway", PLAIN, []),
    ("lock.back_door", "Back Door", "kitchen", PLAIN, []),
    # climate (2)
    ("climate.hallway_thermostat", "Hallway Thermostat", "hallway", THERMO_HEAT, ["Heating"]),
    ("climate.master_bedroom_ac", "Master Bedroom AC", "master_bedroom", AC,
     ["Air Conditioning"]),
    # fans (3)
    ("fan.office_fan", "Office Fan", "office", FAN_SPEED, []),
    ("fan.master_bedroom_ceiling_fan", "Master Bedroom Ceiling Fan", "master_bedroom",
     FAN_SPEED, []),
    ("fan.bathroom_extractor_fan", "Bathroom Extractor Fan", "bathroom", FAN_ONOFF, []),
    # media (5)
    ("media_player.living_room_tv", "Living Room TV", "living_room", TV, []),
    ("media_player.living_room_sonos", "Living Room Sonos", "living_room", SPEAKER, []),
    ("media_player.kitchen_speaker", "Kitchen Speaker", "kitchen", SPEAKER, []),
    ("media_player.kids_room_speaker", "Kids Room Speaker", "kids_room", SPEAKER, []),
    ("media_player.media_room_receiver", "Media Room Receiver", "media_room", RECEIVER, []),
]
LARGE_SCENES = [
    ("scene.movie_time", "Movie Time", []),
    ("scene.dinner", "Dinner", []),
    ("scene.good_morning", "Good Morning", []),
    ("scene.leaving_home", "Leaving Home", ["Away"]),
]
LARGE_OTHER = [("sensor.outdoor_temperature", "Outdoor Temperature"),
               ("binary_sensor.garage_door_contact", "Garage Door Contact"),
               ("vacuum.roborock", "Roborock"), ("script.bedtime_routine", "Bedtime Routine")]


def build(name, ents, areas, floors, scenes, other):
    out = ROOT / "bench" / "homes" / name
    if out.exists():
        for f in ("devices.toml", "rooms.toml", "scenes.toml", "functions.toml",
                  "imported.toml"):
            (out / f).unlink(missing_ok=True)
    home = home_from_registry(registry(ents, areas, floors, scenes, other))
    report = write_catalog(home, out)
    print("\n".join(report.lines()[:1] + report.skipped + report.notes))
    shutil.copyfile(FUNCS, out / "functions.toml")


build("small", SMALL_ENTS, SMALL_AREAS, SMALL_FLOORS, SMALL_SCENES, SMALL_OTHER)
build("large", LARGE_ENTS, LARGE_AREAS, LARGE_FLOORS, LARGE_SCENES, LARGE_OTHER)
