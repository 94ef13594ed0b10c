"""The Gradio app: layout, handlers and the Web Audio comparison player."""
