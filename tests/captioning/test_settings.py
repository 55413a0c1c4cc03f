"""What the dock remembers survives a save and a load of the settings file."""

from services.captioning.families import WD14
from services.captioning.options import resolve
from services.settings import Settings, SettingsStore


def test_captioning_choices_round_trip_through_the_settings_file(tmp_path):
    settings = Settings()
    options = resolve(WD14.options, {"exclude_tags": "a, b", "tag_replacements": "x -> y", "general_threshold": 0.5})
    settings.captioning.captioner = "wd14"
    settings.captioning.models = {"wd14": "/models/my tagger", "blip": "Salesforce/blip-image-captioning-base"}
    settings.captioning.options = {"wd14": options}
    settings.captioning.existing_policy = "append"
    settings.captioning.recent_model_folders = ["/models/my tagger"]
    store = SettingsStore(tmp_path)
    store.save(settings)
    loaded = store.load()
    assert loaded.load_warnings == []
    assert loaded.captioning == settings.captioning
    assert resolve(WD14.options, loaded.captioning.options["wd14"]) == options
