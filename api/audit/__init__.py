"""Who listened to which recording: every playback and download, for the admins."""
