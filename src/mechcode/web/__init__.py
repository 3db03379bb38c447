"""The reviewer web page: FastAPI app (thin routes over mechcode.loop), auth, static files, server."""
