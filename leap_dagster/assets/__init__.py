"""One module per stage; `ALL_ASSETS` is what the definitions load, in pipeline order."""

from leap_dagster.assets.media import raw_video, trimmed_video
from leap_dagster.assets.speech import subtitles, topics, transcript
from leap_dagster.assets.targets import exported_video, vk_video, youtube_video

ALL_ASSETS = [raw_video, trimmed_video, transcript, topics, subtitles, exported_video, youtube_video, vk_video]
