"""Acting: calls -> MQTT messages (mapping), the MQTT link, Home Assistant discovery."""
