from cases_lib import C, G, write

S, GR, TWO, NO = "single", "group", "two", "refusal"


def s(text, *calls, room=None):
    return (S, text, list(calls), room)


def g(text, *calls, room=None):
    return (GR, text, list(calls), room)


def two(text, *calls, room=None):
    return (TWO, text, list(calls), room)


def no(text, room=None):
    return (NO, text, [], room)


on, off = "light.turn_on", "light.turn_off"
bri, step, color = "light.set_brightness", "light.step_brightness", "light.set_color"
son, soff = "switch.turn_on", "switch.turn_off"
pos = "cover.set_position"
temp, tstep, mode = "climate.set_temperature", "climate.step_temperature", "climate.set_mode"
vol, vstep = "media.set_volume", "media.step_volume"

CASES = [
    # -- lights: shortened names, rooms, numbers
    s("turn on the patio lights", C(on, "garden_patio_lights")),
    s("switch off the path lights", C(off, "garden_path_lights")),
    s("dim the patio lights to 30 percent", C(bri, "garden_patio_lights", brightness=30)),
    s("turn on the desk lamp", C(on, "office_desk_lamp")),
    s("set the desk lamp to blue", C(color, "office_desk_lamp", color="blue")),
    s("office desk lamp a bit brighter", C(step, "office_desk_lamp", step=20)),
    s("turn on the shelf lights in the office", C(on, "office_shelf_lights")),
    s("make the office shelf lights orange", C(color, "office_shelf_lights", color="orange")),
    s("turn on the bookshelf lights", C(on, "bookshelf_lights")),
    s("bookshelf lights to twenty percent", C(bri, "bookshelf_lights", brightness=20)),
    s("turn off the left bedside lamp", C(off, "left_bedside_lamp")),
    s("right bedside lamp on", C(on, "right_bedside_lamp")),
    s("set the left bedside lamp to 15 percent", C(bri, "left_bedside_lamp", brightness=15)),
    s("turn the right bedside lamp pink", C(color, "right_bedside_lamp", color="pink")),
    s("turn on the chandelier", C(on, "dining_room_chandelier")),
    s("dim the chandelier", C(step, "dining_room_chandelier", step=-20)),
    s("dining room sconces on", C(on, "dining_room_wall_sconces")),
    s("turn on the counter lights", C(on, "kitchen_under_cabinet_lights")),
    s("set the island pendants to 60 percent",
      C(bri, "kitchen_island_pendants", brightness=60)),
    s("kitchen ceiling light to full brightness", C(bri, "kitchen_ceiling", brightness=100)),
    s("make the TV backlight green", C(color, "tv_backlight", color="green")),
    s("set the floor lamp to yellow", C(color, "living_room_floor_lamp", color="yellow")),
    s("turn the living room ceiling light up by 10 percent",
      C(step, "living_room_ceiling", step=10)),
    s("turn on the landing light", C(on, "landing_light")),
    s("stair lights on", C(on, "stair_lights")),
    s("dim the stair lights to 5 percent", C(bri, "stair_lights", brightness=5)),
    s("turn off the laundry light", C(off, "laundry_room_light")),
    s("garage light on", C(on, "garage_light")),
    s("turn on the porch light", C(on, "front_porch_light")),
    s("turn on the night light", C(on, "kids_room_night_light")),
    s("set the night light in the kids room to purple",
      C(color, "kids_room_night_light", color="purple")),
    s("turn off the mirror light", C(off, "bathroom_mirror_light")),
    s("bathroom ceiling light to 40%", C(bri, "bathroom_ceiling", brightness=40)),
    s("turn on the LED strip", C(on, "media_room_led_strip")),
    s("make the LED strip in the media room red", C(color, "media_room_led_strip", color="red")),
    s("media room ceiling light off", C(off, "media_room_ceiling")),
    s("turn off the hallway motion light", C(off, "hallway_motion_light")),
    s("hallway ceiling light on", C(on, "hallway_ceiling")),
    s("master bedroom ceiling light to 25 percent",
      C(bri, "master_bedroom_ceiling", brightness=25)),
    s("set the office ceiling light to seventy percent",
      C(bri, "office_ceiling", brightness=70)),
    s("turn the kids room ceiling light down by 40",
      C(step, "kids_room_ceiling", step=-40)),
    s("set the patio lights to zero percent", C(off, "garden_patio_lights")),
    # -- lights: the speaker's room
    s("turn on the light", C(on, "laundry_room_light"), room="laundry_room"),
    s("lights off", C(off, "garage_light"), room="garage"),
    s("turn the light off", C(off, "guest_bedroom_ceiling"), room="guest_bedroom"),
    # -- switches
    s("turn on the kettle", C(son, "kettle")),
    s("switch off the coffee machine", C(soff, "coffee_machine")),
    s("turn on the space heater", C(son, "office_space_heater")),
    s("turn the printer on", C(son, "office_printer")),
    s("switch on the electric blanket", C(son, "electric_blanket")),
    s("turn on the towel rail", C(son, "heated_towel_rail")),
    s("turn on the dehumidifier", C(son, "dehumidifier")),
    s("turn off the fountain", C(soff, "garden_fountain")),
    s("turn on the christmas tree", C(son, "christmas_tree")),
    s("switch the aquarium on", C(son, "aquarium")),
    # -- covers
    s("open the garage door", C("cover.open", "garage_door")),
    s("close the garage", C("cover.close", "garage_door")),
    s("set the kitchen blind to 40 percent", C(pos, "kitchen_blind", position=40)),
    s("close the office blinds", C("cover.close", "office_blinds")),
    s("office blinds halfway", C(pos, "office_blinds", position=50)),
    s("open the living room blinds", C("cover.open", "living_room_blinds")),
    s("lower the living room blinds to 10 percent", C(pos, "living_room_blinds", position=10)),
    s("close the curtains in the guest room", C("cover.close", "guest_bedroom_curtains")),
    s("open the skylight blind", C("cover.open", "skylight_blind")),
    s("close the skylight", C("cover.close", "skylight_blind")),
    s("master bedroom blinds to eighty percent", C(pos, "master_bedroom_blinds", position=80)),
    s("open the blinds in Emma's room", C("cover.open", "kids_room_blinds")),
    s("close the dining room blinds", C("cover.close", "dining_room_blinds")),
    s("close the blind", C("cover.close", "kitchen_blind"), room="kitchen"),
    s("open the blinds", C("cover.open", "office_blinds"), room="office"),
    # -- locks
    s("lock the front door", C("lock.lock", "front_door")),
    s("unlock the back door", C("lock.unlock", "back_door")),
    s("please lock the back door", C("lock.lock", "back_door")),
    # -- climate
    s("set the heating to 21", C(temp, "hallway_thermostat", temperature=21)),
    s("hallway thermostat to twenty point five degrees",
      C(temp, "hallway_thermostat", temperature=20.5)),
    s("set the thermostat to 18", C(temp, "hallway_thermostat", temperature=18)),
    s("turn the heating up", C(tstep, "hallway_thermostat", step=1)),
    s("turn the heating down by 2 degrees", C(tstep, "hallway_thermostat", step=-2)),
    s("set the heating to auto", C(mode, "hallway_thermostat", mode="auto")),
    s("turn off the heating", C(mode, "hallway_thermostat", mode="off")),
    s("set the AC to 22 degrees", C(temp, "master_bedroom_ac", temperature=22)),
    s("air conditioning to cool mode", C(mode, "master_bedroom_ac", mode="cool")),
    s("turn off the air conditioning", C(mode, "master_bedroom_ac", mode="off")),
    s("make it cooler", C(tstep, "master_bedroom_ac", step=-1), room="master_bedroom"),
    s("make it one degree warmer in the master bedroom",
      C(tstep, "master_bedroom_ac", step=1)),
    # -- fans
    s("office fan to medium", C("fan.set_speed", "office_fan", speed="medium")),
    s("turn on the ceiling fan", C("fan.turn_on", "master_bedroom_ceiling_fan")),
    s("ceiling fan on high", C("fan.set_speed", "master_bedroom_ceiling_fan", speed="high")),
    s("turn off the extractor fan", C("fan.turn_off", "bathroom_extractor_fan")),
    s("switch on the bathroom fan", C("fan.turn_on", "bathroom_extractor_fan")),
    s("turn the fan off", C("fan.turn_off", "office_fan"), room="office"),
    # -- media
    s("pause the TV", C("media.pause", "living_room_tv")),
    s("play the Sonos", C("media.play", "living_room_sonos")),
    s("set the Sonos volume to 30", C(vol, "living_room_sonos", volume=30)),
    s("turn the kitchen speaker up", C(vstep, "kitchen_speaker", step=10)),
    s("kitchen speaker volume to forty", C(vol, "kitchen_speaker", volume=40)),
    s("pause the music in the kitchen", C("media.pause", "kitchen_speaker")),
    s("play music in Emma's room", C("media.play", "kids_room_speaker")),
    s("kids room speaker volume down by 20", C(vstep, "kids_room_speaker", step=-20)),
    s("turn on the receiver", C("media.play", "media_room_receiver")),
    s("louder", C(vstep, "media_room_receiver", step=10), room="media_room"),
    s("quieter please", C(vstep, "kitchen_speaker", step=-10), room="kitchen"),
    # -- scenes
    s("movie time", C("scene.activate", scene="movie_time")),
    s("activate the dinner scene", C("scene.activate", scene="dinner")),
    s("good morning", C("scene.activate", scene="good_morning")),
    s("run the leaving home scene", C("scene.activate", scene="leaving_home")),
    # -- groups
    g("turn off the lights in the office", G(off, "office", "light")),
    g("close all the blinds upstairs", G("cover.close", "first_floor", "blind")),
    g("turn on the garden lights", G(on, "garden", "light")),
    g("kitchen lights on", G(on, "kitchen", "light")),
    g("lock all the doors", G("lock.lock", "home", "lock")),
    g("turn off all the lights downstairs", G(off, "ground_floor", "light")),
    g("open all the blinds", G("cover.open", "home", "blind")),
    g("turn off all the fans", G("fan.turn_off", "home", "fan")),
    g("dim the living room lights", G(step, "living_room", "light", step=-20)),
    g("turn on the lights", G(on, "master_bedroom", "light"), room="master_bedroom"),
    g("set the blinds upstairs to 30 percent",
      G(pos, "first_floor", "blind", position=30)),
    g("turn off every light in the house", G(off, "home", "light")),
    g("lights on in the dining room", G(on, "dining_room", "light")),
    g("switch off the basement lights", G(off, "basement", "light")),
    g("turn off the lights in the main bedroom", G(off, "master_bedroom", "light")),
    g("make the landing lights brighter", G(step, "landing", "light", step=20)),
    g("turn the hallway lights off", G(off, "hallway", "light")),
    # -- two commands
    two("turn off the TV and the floor lamp",
        C("media.pause", "living_room_tv"), C(off, "living_room_floor_lamp")),
    two("lock the front door and close the garage door",
        C("lock.lock", "front_door"), C("cover.close", "garage_door")),
    two("turn on the coffee machine and the kettle",
        C(son, "coffee_machine"), C(son, "kettle")),
    two("close the office blinds, then turn on the desk lamp",
        C("cover.close", "office_blinds"), C(on, "office_desk_lamp")),
    two("set the heating to 20 and turn off the electric blanket",
        C(temp, "hallway_thermostat", temperature=20), C(soff, "electric_blanket")),
    two("turn off the patio lights and lock the back door",
        C(off, "garden_patio_lights"), C("lock.lock", "back_door")),
    two("open the skylight and turn on the stair lights",
        C("cover.open", "skylight_blind"), C(on, "stair_lights")),
    two("pause the Sonos and turn on the TV",
        C("media.pause", "living_room_sonos"), C("media.play", "living_room_tv")),
    # -- refusals: ambiguous shortenings
    no("turn on the bedside lamp"),
    no("set the bedside lamp to 30 percent"),
    no("turn off the ceiling light"),
    no("make it warmer"),
    # -- refusals: devices the home does not have
    no("turn on the hot tub"),
    no("turn on the lights in the attic"),
    no("close the blinds in the bathroom"),
    # -- refusals: functions a device does not have
    no("dim the garage light"),
    no("make the chandelier red"),
    no("set the guest bedroom curtains to 50 percent"),
    no("set the extractor fan to high"),
    # -- refusals: out of range
    no("set the office desk lamp to 120 percent"),
    no("set the AC to 40 degrees"),
    no("Sonos volume to 200"),
    no("turn the heating down to 3 degrees"),
    # -- refusals: later, conditional, negated
    no("in five minutes turn off the kids room lights"),
    no("turn off the garden fountain at midnight"),
    no("if it gets dark turn on the porch light"),
    no("don't unlock the front door"),
    # -- refusals: not a command
    no("what's the temperature in the living room"),
    no("set a timer for ten minutes"),
    no("thank you"),
]

write("large", CASES)
