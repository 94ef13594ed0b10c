"""Where tracks come from: bundled example songs, the stempeg excerpt, uploads, MUSDB18-HQ."""
