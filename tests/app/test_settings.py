import tomlkit

from services.settings import SCHEMA_VERSION, Settings, SettingsStore, from_dict, migrate, to_dict


def test_defaults_round_trip(tmp_path):
    store = SettingsStore(tmp_path)
    settings = store.load()
    assert settings == Settings()
    settings.appearance.theme = "cyberpunk"
    settings.remember_folder("/data/a")
    settings.remember_folder("/data/b")
    settings.remember_folder("/data/a")
    store.save(settings)
    again = store.load()
    assert again.appearance.theme == "cyberpunk"
    assert again.workspace.recent_folders == ["/data/a", "/data/b"]
    assert tomlkit.parse(store.path.read_text())["schema_version"] == SCHEMA_VERSION


def test_wrong_types_fall_back_to_defaults_with_warnings(tmp_path):
    (tmp_path / "settings.toml").write_text(
        'schema_version = 2\n[appearance]\ntheme = 3\nthumbnail_size = "big"\n'
        '[workspace]\nrecent_folders = ["ok", 5]\nautosave_captions = false\n'
        '[hardware]\nstated_vram_gb = 12\n')
    settings = SettingsStore(tmp_path).load()
    assert settings.appearance.theme == "dark"
    assert settings.appearance.thumbnail_size == 160
    assert settings.workspace.recent_folders == []
    assert settings.workspace.autosave_captions is False
    assert settings.hardware.stated_vram_gb == 12.0 and isinstance(settings.hardware.stated_vram_gb, float)
    assert len(settings.load_warnings) == 3


def test_unknown_theme_is_replaced():
    settings = from_dict({"schema_version": 2, "appearance": {"theme": "neon"}})
    assert settings.appearance.theme == "dark"
    assert settings.load_warnings


def test_v1_file_is_migrated():
    raw = {"schema_version": 1, "theme": "light", "recent_folders": ["/x"]}
    migrated = migrate(raw)
    assert migrated["schema_version"] == SCHEMA_VERSION
    settings = from_dict({"schema_version": 1, "theme": "light", "recent_folders": ["/x"]})
    assert settings.appearance.theme == "light"
    assert settings.workspace.recent_folders == ["/x"]


def test_broken_or_future_file_is_kept_aside_not_lost(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("this is [not toml")
    settings = SettingsStore(tmp_path).load()
    assert settings.appearance.theme == "dark"
    assert (tmp_path / "settings.toml.bad").read_text() == "this is [not toml"
    path.write_text("schema_version = 99\n")
    SettingsStore(tmp_path).load()
    assert (tmp_path / "settings.toml.bad").read_text() == "schema_version = 99\n"


def test_to_dict_has_every_section():
    data = to_dict(Settings())
    assert set(data) == {"schema_version", "appearance", "workspace", "dataset", "captioning", "backend", "hardware"}
