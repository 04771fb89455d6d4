export namespace services {
	
	export class NewUserRequest {
	    username: string;
	    password: string;
	    role: string;
	    displayName: string;
	
	    static createFrom(source: any = {}) {
	        return new NewUserRequest(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.username = source["username"];
	        this.password = source["password"];
	        this.role = source["role"];
	        this.displayName = source["displayName"];
	    }
	}
	export class SetupRequest {
	    stationName: string;
	    adminUsername: string;
	    adminPassword: string;
	
	    static createFrom(source: any = {}) {
	        return new SetupRequest(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.stationName = source["stationName"];
	        this.adminUsername = source["adminUsername"];
	        this.adminPassword = source["adminPassword"];
	    }
	}
	export class UserInfo {
	    id: number;
	    username: string;
	    role: string;
	    displayName: string;
	
	    static createFrom(source: any = {}) {
	        return new UserInfo(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.id = source["id"];
	        this.username = source["username"];
	        this.role = source["role"];
	        this.displayName = source["displayName"];
	    }
	}
	export class StationStatus {
	    setUp: boolean;
	    station?: store.Station;
	    user?: UserInfo;
	    version: string;
	
	    static createFrom(source: any = {}) {
	        return new StationStatus(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.setUp = source["setUp"];
	        this.station = this.convertValues(source["station"], store.Station);
	        this.user = this.convertValues(source["user"], UserInfo);
	        this.version = source["version"];
	    }
	
		convertValues(a: any, classs: any, asMap: boolean = false): any {
		    if (!a) {
		        return a;
		    }
		    if (a.slice && a.map) {
		        return (a as any[]).map(elem => this.convertValues(elem, classs));
		    } else if ("object" === typeof a) {
		        if (asMap) {
		            for (const key of Object.keys(a)) {
		                a[key] = new classs(a[key]);
		            }
		            return a;
		        }
		        return new classs(a);
		    }
		    return a;
		}
	}
	export class UISettings {
	    language: string;
	    theme: string;
	
	    static createFrom(source: any = {}) {
	        return new UISettings(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.language = source["language"];
	        this.theme = source["theme"];
	    }
	}

}

export namespace store {
	
	export class Station {
	    id: number;
	    uuid: string;
	    name: string;
	    catalogUrl: string;
	    catalogId: string;
	    // Go type: time
	    createdAt: any;
	    // Go type: time
	    updatedAt: any;
	
	    static createFrom(source: any = {}) {
	        return new Station(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.id = source["id"];
	        this.uuid = source["uuid"];
	        this.name = source["name"];
	        this.catalogUrl = source["catalogUrl"];
	        this.catalogId = source["catalogId"];
	        this.createdAt = this.convertValues(source["createdAt"], null);
	        this.updatedAt = this.convertValues(source["updatedAt"], null);
	    }
	
		convertValues(a: any, classs: any, asMap: boolean = false): any {
		    if (!a) {
		        return a;
		    }
		    if (a.slice && a.map) {
		        return (a as any[]).map(elem => this.convertValues(elem, classs));
		    } else if ("object" === typeof a) {
		        if (asMap) {
		            for (const key of Object.keys(a)) {
		                a[key] = new classs(a[key]);
		            }
		            return a;
		        }
		        return new classs(a);
		    }
		    return a;
		}
	}

}

