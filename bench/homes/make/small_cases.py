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

CASES = [
    # -- lights
    s("turn on the kitchen lights", C(on, "kitchen_lights")),
    s("kitchen light off please", C(off, "kitchen_lights")),
    s("switch on the floor lamp", C(on, "living_room_floor_lamp")),
    s("can you turn off the living room floor lamp", C(off, "living_room_floor_lamp")),
    s("set the floor lamp to 40 percent", C(bri, "living_room_floor_lamp", brightness=40)),
    s("make the floor lamp purple", C(color, "living_room_floor_lamp", color="purple")),
    s("change the bedside lamp to red", C(color, "bedside_lamp", color="red")),
    s("bedside lamp on", C(on, "bedside_lamp")),
    s("dim the bedside lamp", C(step, "bedside_lamp", step=-20)),
    s("bedside lamp to ten percent", C(bri, "bedside_lamp", brightness=10)),
    s("could you set the bedside lamp to white", C(color, "bedside_lamp", color="white")),
    s("turn the bathroom light on", C(on, "bathroom_light")),
    s("bathroom light off", C(off, "bathroom_light")),
    s("turn on the bedroom ceiling light", C(on, "bedroom_ceiling")),
    s("set the bedroom ceiling to fifty percent", C(bri, "bedroom_ceiling", brightness=50)),
    s("brighten the living room ceiling light", C(step, "living_room_ceiling", step=20)),
    s("living room ceiling light to 75%", C(bri, "living_room_ceiling", brightness=75)),
    s("turn the kitchen lights down by 30 percent", C(step, "kitchen_lights", step=-30)),
    s("kitchen lights to full brightness", C(bri, "kitchen_lights", brightness=100)),
    s("put the kitchen light at half brightness", C(bri, "kitchen_lights", brightness=50)),
    s("turn on the light", C(on, "bathroom_light"), room="bathroom"),
    s("turn off the light", C(off, "kitchen_lights"), room="kitchen"),
    s("brighter", C(step, "kitchen_lights", step=20), room="kitchen"),
    # -- switch
    s("turn on the coffee maker", C("switch.turn_on", "coffee_maker")),
    s("switch the coffee maker off", C("switch.turn_off", "coffee_maker")),
    # -- covers
    s("open the living room blinds", C("cover.open", "living_room_blinds")),
    s("close the bedroom blinds", C("cover.close", "bedroom_blinds")),
    s("bedroom blinds halfway please", C("cover.set_position", "bedroom_blinds", position=50)),
    s("set the living room blinds to 30 percent",
      C("cover.set_position", "living_room_blinds", position=30)),
    s("lower the bedroom blinds to twenty percent",
      C("cover.set_position", "bedroom_blinds", position=20)),
    s("open the blinds in the lounge", C("cover.open", "living_room_blinds")),
    s("close the blinds", C("cover.close", "bedroom_blinds"), room="bedroom"),
    s("open the blinds", C("cover.open", "living_room_blinds"), room="living_room"),
    # -- climate
    s("set the heating to 21 degrees", C("climate.set_temperature", "thermostat", temperature=21)),
    s("thermostat to twenty two and a half",
      C("climate.set_temperature", "thermostat", temperature=22.5)),
    s("make it warmer", C("climate.step_temperature", "thermostat", step=1)),
    s("turn the heating down two degrees", C("climate.step_temperature", "thermostat", step=-2)),
    s("it's freezing in here, turn the heat up",
      C("climate.step_temperature", "thermostat", step=1)),
    s("turn the heating off", C("climate.set_mode", "thermostat", mode="off")),
    s("put the thermostat on auto", C("climate.set_mode", "thermostat", mode="auto")),
    s("set the thermostat to heat mode", C("climate.set_mode", "thermostat", mode="heat")),
    # -- lock
    s("lock the front door", C("lock.lock", "front_door")),
    s("unlock the door", C("lock.unlock", "front_door")),
    s("hey, lock the door please", C("lock.lock", "front_door")),
    # -- fan
    s("turn on the bedroom fan", C("fan.turn_on", "bedroom_fan")),
    s("bedroom fan to high", C("fan.set_speed", "bedroom_fan", speed="high")),
    s("set the fan to low", C("fan.set_speed", "bedroom_fan", speed="low")),
    s("switch off the fan", C("fan.turn_off", "bedroom_fan")),
    s("fan on medium", C("fan.set_speed", "bedroom_fan", speed="medium")),
    # -- media
    s("turn on the TV", C("media.play", "living_room_tv")),
    s("pause the TV", C("media.pause", "living_room_tv")),
    s("unpause the telly", C("media.play", "living_room_tv")),
    s("TV volume to 25", C("media.set_volume", "living_room_tv", volume=25)),
    s("turn the TV down by 15", C("media.step_volume", "living_room_tv", step=-15)),
    s("set the TV volume to zero", C("media.set_volume", "living_room_tv", volume=0)),
    s("louder", C("media.step_volume", "living_room_tv", step=10), room="living_room"),
    # -- scenes
    s("cozy evening", C("scene.activate", scene="cozy_evening")),
    s("activate bedtime", C("scene.activate", scene="bedtime")),
    s("turn on the cozy evening scene", C("scene.activate", scene="cozy_evening")),
    # -- groups
    g("turn off the living room lights", G(off, "living_room", "light")),
    g("bedroom lights on", G(on, "bedroom", "light")),
    g("turn off all the lights", G(off, "home", "light")),
    g("close all the blinds", G("cover.close", "home", "blind")),
    g("open every blind", G("cover.open", "home", "blind")),
    g("turn on the lights", G(on, "living_room", "light"), room="living_room"),
    g("dim the lights in the bedroom", G(step, "bedroom", "light", step=-20)),
    g("set all the lights to 60 percent", G(bri, "home", "light", brightness=60)),
    g("make the bedroom lights blue", G(color, "bedroom", "light", color="blue")),
    # -- two commands
    two("turn off the TV and the floor lamp",
        C("media.pause", "living_room_tv"), C(off, "living_room_floor_lamp")),
    two("close the bedroom blinds, then turn on the bedside lamp",
        C("cover.close", "bedroom_blinds"), C(on, "bedside_lamp")),
    two("start the coffee maker and turn on the kitchen lights",
        C("switch.turn_on", "coffee_maker"), C(on, "kitchen_lights")),
    two("set the heating to 20 and turn on the TV",
        C("climate.set_temperature", "thermostat", temperature=20),
        C("media.play", "living_room_tv")),
    # -- refusals
    no("turn on the sauna"),
    no("open the garage door"),
    no("lock the back door"),
    no("set the bathroom light to 50 percent"),
    no("make the living room ceiling light green"),
    no("set the kitchen lights to 150 percent"),
    no("set the heating to 35 degrees"),
    no("TV volume to 120"),
    no("in ten minutes turn off the bedroom fan"),
    no("don't open the bedroom blinds"),
    no("what's the weather like tomorrow"),
    no("tell me a joke"),
    no("turn on the ceiling light"),
    no("turn on the light"),
    no("is the front door locked?"),
    no("set the heating to 4 degrees"),
]

write("small", CASES)
