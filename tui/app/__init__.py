"""The Textual application: the app, its store and messages, screens and widgets."""
